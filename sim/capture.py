"""Capture a real daemon's answer to one of the scanner's probes for the fingerprint corpus.

    python -m lzr_sim.capture smtp wait postfix-banner           # -> tests/data/responses/smtp/
    python -m lzr_sim.capture smb smb2 samba-smb2-negotiate --label smb

The daemon of the first argument (lzr_sim.daemons) runs in a lab namespace (lzr_sim.lab),
the probe of the handshake is sent from a second namespace as the scanner's first data, and
the first data that comes back is written as `<out>/<label>/<name>.bin`, with `<name>.json`
saying the handshake, the label a correct scanner gives it (`--label`, default the daemon's),
the label LZR's own rules give it where that differs (`lzr_label`, what `--compat` says) and
where the bytes came from. When the scanner's current rules give another label, the
capture is still written and the difference is reported: the corpus tests then fail until
the rules are right. Needs root.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from lzr.fingerprint import fingerprint
from lzr.handshakes import REGISTRY
from lzr.runtime.netns import inside_netns
from lzr_sim.daemons import DAEMONS
from lzr_sim.lab import Host, NetnsLab

CORPUS = Path("tests/data/responses")
CLIENT, SERVER, PORT = "10.81.0.1", "10.81.0.2", 24000


@contextlib.contextmanager
def daemons_in_a_lab(labels: list[str], first_port: int = PORT) -> Iterator[tuple[Host, subprocess.Popen, dict, Path]]:
    """The daemons of `labels` running in a lab namespace at SERVER, on `first_port` upwards:
    (the client namespace, the services runner, {label: port}, their state directory). The
    state directory is removed afterwards with the lab."""
    state = Path(tempfile.mkdtemp(prefix="lzr-sim-daemons-"))
    state.chmod(0o755)  # daemons that run as their own user reach their directories
    ports = {label: first_port + index for index, label in enumerate(labels)}
    spec = [{"address": SERVER, "port": port, "protocol": label, "daemon": True, "state_dir": str(state)}
            for label, port in ports.items()]
    try:
        with NetnsLab() as lab:
            client, server = lab.add_host("cli"), lab.add_host("srv")
            lab.link(client, server, f"{CLIENT}/24", f"{SERVER}/24")
            runner = server.popen(sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", json.dumps(spec),
                                  stdout=subprocess.PIPE, text=True)
            ready = runner.stdout.readline()
            if not ready.startswith("READY"):
                raise RuntimeError(f"the daemons did not start: {ready.strip()}")
            yield client, runner, ports, state
    finally:
        shutil.rmtree(state, ignore_errors=True)


def first_answer(client: Host, port: int, handshake: str) -> bytes:
    """The first data the daemon at SERVER:port sends on a connection from `client` whose
    first data is `handshake`'s probe (nothing for a server-first handshake)."""
    with inside_netns(client.netns), socket.create_connection((SERVER, port), timeout=10) as conn:
        probe = REGISTRY[handshake].probe(SERVER)
        if probe:
            conn.sendall(probe)
        return conn.recv(65536)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lzr_sim.capture", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("daemon", choices=sorted(DAEMONS), help="the daemon, by the label of its answers")
    parser.add_argument("handshake", choices=sorted(REGISTRY), help="whose probe to send (wait: none)")
    parser.add_argument("name", help="file name of the capture, without extension")
    parser.add_argument("--label", help="the label a correct scanner gives the answer (default: the daemon's)")
    parser.add_argument("--note", default="", help="said after the source, e.g. the daemon's configuration")
    parser.add_argument("--out", type=Path, default=CORPUS, help=f"the corpus directory (default {CORPUS})")
    args = parser.parse_args(argv)
    daemon = DAEMONS[args.daemon]
    if daemon.path() is None:
        parser.error(f"{daemon.binary} is not installed (Debian package {daemon.package}; ci/setup installs it)")
    with daemons_in_a_lab([args.daemon]) as (client, _, ports, _):
        data = first_answer(client, ports[args.daemon], args.handshake)
    if not data:
        print(f"{args.daemon} sent nothing to the {args.handshake} probe: no capture written", file=sys.stderr)
        return 1
    label = args.label or args.daemon
    directory = args.out / label
    directory.mkdir(parents=True, exist_ok=True)
    source = (f"captured from Debian {daemon.package} {daemon.version()} in a network namespace "
              f"(lzr_sim.capture {args.daemon} {args.handshake})" + (f"; {args.note}" if args.note else ""))
    meta = {"handshake": args.handshake, "label": label, "source": source}
    lzr_label = fingerprint(data, [args.handshake], compat=True)
    if lzr_label != label:
        meta["lzr_label"] = lzr_label  # what LZR's rules (--compat) say
    (directory / f"{args.name}.bin").write_bytes(data)
    (directory / f"{args.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{directory / args.name}.bin: {len(data)} bytes")
    current = fingerprint(data, [args.handshake])
    if current != label:
        print(f"the scanner's rules label it {current}, not {label}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
