"""Time to name every service of a 30-service, 15-protocol emulated population:
`lzr -handshakes all` with its default --parallel, the same with --parallel 1 and with
--compat (LZR's one handshake at a time), and `nmap -sV` on the same targets from the same
scanner host. Prints the figures; never fails
on time.

    .venv/bin/python bench/identify.py [--seed 1] [-t 5] [--no-nmap | --nmap-version-all]

Needs root, Mininet and nmap (ci/setup installs them). Every packet stays inside the
emulated network: both scanners run inside its scanner host and are given only the
population's addresses.

The population is `lzr_sim.population.catalogue`: two services of each protocol on random high
ports, three to a host. lzr's timing flags are its defaults unless -t is given. nmap runs as
a user would on a list of hosts: `nmap -sV -Pn -n -p <every port of the population> <every
host>` (ports that are closed on a host cost nmap one RST). A service counts as named by
nmap when nmap's service name, found by its probes (not guessed from the port number), maps
to the service's label in NMAP_LABELS; TLS-wrapped HTTP (`ssl/http`) counts as `tls`, the
label lzr gives an HTTPS server.

Target: lzr at least 10x faster than `nmap -sV`, naming no fewer services.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import xml.etree.ElementTree as ElementTree
from datetime import datetime

PROTOCOLS = ["http", "tls", "ssh", "ftp", "smtp", "imap", "telnet", "mysql", "postgres", "rdp",
             "vnc", "dns", "mqtt", "mongodb", "redis"]

# nmap's service names (nmap-services / nmap-service-probes) for these protocols.
NMAP_LABELS = {
    "http": "http", "https": "tls", "ssl": "tls", "ssh": "ssh", "ftp": "ftp", "smtp": "smtp",
    "imap": "imap", "telnet": "telnet", "mysql": "mysql", "postgresql": "postgres",
    "ms-wbt-server": "rdp", "vnc": "vnc", "domain": "dns", "mqtt": "mqtt", "mongodb": "mongodb",
    "mongod": "mongodb", "redis": "redis",
}


def lzr_run(net, flags: list[str]) -> dict:
    """Scan the population with lzr: wall time, time from the first SYN to the last record,
    start-up (launch to first SYN), wind-down (last record to exit), label per target."""
    launched, started = time.time(), time.monotonic()
    records = net.scan(flags)
    wall = time.monotonic() - started
    exited = time.time()
    labels, seconds, first_start, last_end = {}, {}, None, None
    for record in records:
        labels[(record["saddr"], record["sport"])] = record["fingerprint"]
        seconds[(record["saddr"], record["sport"])] = record["identifySeconds"]
        end = datetime.fromisoformat(record["Timestamp"]).timestamp()
        start = end - record["identifySeconds"]
        first_start = start if first_start is None else min(first_start, start)
        last_end = end if last_end is None else max(last_end, end)
    if first_start is None:
        sys.exit(f"lzr {' '.join(flags)} wrote no records")
    return {"wall": wall, "identified": last_end - first_start, "startup": first_start - launched,
            "winddown": exited - last_end, "labels": labels, "seconds": seconds,
            "tried": sum(record["handshakesTried"] for record in records) / len(records)}


def nmap_label(service) -> tuple[str, str]:
    """(label, nmap's own name) of an nmap <service> element; label '' when not named."""
    if service is None:
        return "", "-"
    name, tunnel, method = service.get("name", ""), service.get("tunnel", ""), service.get("method")
    shown = f"{tunnel}/{name}" if tunnel else name
    if method != "probed":
        return "", shown + "?"       # nmap's guess from the port number, not an identification
    label = NMAP_LABELS.get(name, "")
    if tunnel == "ssl" and label == "http":
        label = "tls"
    return label, shown


def nmap_run(net, targets: list[tuple[str, int]], every_probe: bool = False) -> dict:
    hosts = sorted({address for address, _ in targets})
    ports = ",".join(str(port) for port in sorted({port for _, port in targets}))
    argv = ["nmap", "-sV", *(["--version-all"] if every_probe else []), "-Pn", "-n", "-p", ports,
            "-oX", "-", *hosts]
    started = time.monotonic()
    result = net.run("sc", argv, timeout=1800)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"nmap exited with {result.returncode}: {result.stderr[-2000:]}")
    labels, names = {}, {}
    root = ElementTree.fromstring(result.stdout)
    for host in root.iter("host"):
        address = host.find("address").get("addr")
        for port in host.iter("port"):
            if port.find("state").get("state") != "open":
                continue
            key = (address, int(port.get("portid")))
            labels[key], names[key] = nmap_label(port.find("service"))
    return {"wall": wall, "labels": labels, "names": names}


def named(manifest, labels: dict) -> int:
    return sum(labels.get((address, port)) == service.protocol for address, port, service in manifest.targets())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="population seed (ports)")
    parser.add_argument("-t", type=float, help="lzr's -t (default: lzr's own)")
    parser.add_argument("--no-nmap", action="store_true", help="skip the nmap -sV run")
    parser.add_argument("--nmap-version-all", action="store_true",
                        help="nmap -sV --version-all: every probe on every port (about 8 minutes)")
    parser.add_argument("--sweep", metavar="N,N,...",
                        help="also run lzr with each of these --parallel values (how the default was chosen)")
    args = parser.parse_args()
    try:
        sweep = [int(n) for n in args.sweep.split(",")] if args.sweep else []
    except ValueError:
        parser.error(f"--sweep takes comma-separated integers, got {args.sweep!r}")
    if os.geteuid() != 0:
        sys.exit("bench/identify.py needs root (Mininet)")
    if not args.no_nmap and shutil.which("nmap") is None:
        sys.exit("nmap is not installed (ci/setup installs it)")

    from lzr.config import ScanConfig
    from lzr_sim.network import SimNetwork
    from lzr_sim.population import catalogue

    manifest = catalogue(PROTOCOLS, copies=2, seed=args.seed)
    targets = [(address, port) for address, port, _ in manifest.targets()]
    flags = ["-handshakes", "all", "--extended", "-q"] + (["-t", f"{args.t:g}"] if args.t else [])
    total = len(targets)
    print(f"population: {total} services, {len(PROTOCOLS)} protocols, {len(manifest.hosts)} hosts "
          f"(catalogue seed {args.seed}); lzr {' '.join(flags)}")

    with SimNetwork(manifest) as net:
        parallel = lzr_run(net, flags)
        serial = lzr_run(net, flags + ["--parallel", "1"])
        compat = lzr_run(net, flags + ["--compat"])
        nmap = None if args.no_nmap else nmap_run(net, targets, args.nmap_version_all)
        swept = [(n, lzr_run(net, flags + ["--parallel", str(n)])) for n in sweep]

    print()
    print(f"{'target':<20}{'runs':<10}{'lzr':<18}{'lzr --parallel 1':<22}nmap -sV")
    for address, port, service in manifest.targets():
        key = (address, port)
        ours = [f"{run['labels'].get(key, '-')} {run['seconds'].get(key, 0):.1f} s" for run in (parallel, serial)]
        print(f"{address + ':' + str(port):<20}{service.protocol:<10}{ours[0]:<18}{ours[1]:<22}"
              f"{nmap['names'].get(key, '-') if nmap else ''}")

    print()
    rows = [("lzr -handshakes all", parallel), ("lzr ... --parallel 1", serial), ("lzr ... --compat", compat)]
    for title, run in rows:
        print(f"{title:<22} wall {run['wall']:6.1f} s (start-up {run['startup']:.1f} s, first SYN to last "
              f"record {run['identified']:.1f} s, wind-down {run['winddown']:.1f} s), "
              f"named {named(manifest, run['labels'])}/{total}, {run['tried']:.1f} handshakes started per target")
    if nmap:
        title = "nmap -sV --version-all" if args.nmap_version_all else "nmap -sV"
        print(f"{title:<22} wall {nmap['wall']:6.1f} s, named {named(manifest, nmap['labels'])}/{total}")
    for n, run in swept:
        print(f"{'lzr ... --parallel ' + str(n):<22} wall {run['wall']:6.1f} s (first SYN to last record "
              f"{run['identified']:.1f} s), named {named(manifest, run['labels'])}/{total}, "
              f"{run['tried']:.1f} handshakes started per target")
    print("(--parallel 1 also sets the per-host cap to 1; --compat runs one handshake at a time with no cap;\n"
          " lzr exits when every target has its final record; only --compat also waits LZR's -c 8 cooldown)")
    slowest = max(parallel["seconds"].items(), key=lambda item: item[1])
    timeout = args.t or ScanConfig.timeout
    print(f"slowest target of lzr -handshakes all: {slowest[0][0]}:{slowest[0][1]} named after "
          f"{slowest[1]:.1f} s from its first SYN ({slowest[1] / timeout:.1f} x -t {timeout:g} s)")
    print()
    print(f"--parallel 1 / default: {serial['wall'] / parallel['wall']:.1f}x wall time, "
          f"{serial['identified'] / parallel['identified']:.1f}x first SYN to last record")
    if nmap:
        ours, theirs = named(manifest, parallel["labels"]), named(manifest, nmap["labels"])
        print(f"nmap -sV / lzr: {nmap['wall'] / parallel['wall']:.1f}x wall time, "
              f"{nmap['wall'] / parallel['identified']:.1f}x against lzr's first SYN to last record "
              f"(target >= 10x); services named {ours} vs {theirs} (target: no fewer)")


if __name__ == "__main__":
    main()
