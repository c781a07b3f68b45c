"""Service runners forked into the nodes of an emulated network.

One runner (`lzr_sim.services.serve`) per answering node, forked from the harness's own process
after the services are imported and the TLS certificates made, entering the node's network
namespace itself before it binds: cheaper than a fresh interpreter per host, which would
import everything and make keys a hundred times (docs/sim.md). Each runner says READY (or
FAILED with the reason) on a pipe; its stderr goes to a log file in the run directory.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from lzr.runtime.netns import enter_netns
from lzr_sim.behaviours import keeps_service, listener_entry
from lzr_sim.errors import HarnessError
from lzr_sim.manifest import Manifest
from lzr_sim.runs import DAEMONS_DIRECTORY

SERVICE_READY_TIMEOUT = 90.0  # real daemons set up databases first


def runner_specs(manifest: Manifest, run_directory: Path) -> dict[str, list[dict]]:
    """The runner spec of every node with something listening: node -> entries. Real
    daemons keep their files under <run directory>/daemons/<node>/."""
    specs: dict[str, list[dict]] = {}
    for host in manifest.hosts:
        if not keeps_service(host.behaviour):
            continue  # the whole host is the hard case; nothing of its own listens
        for service in host.services:
            entry = listener_entry(host.address, service.port, service.behaviour, service.protocol)
            if entry is None:
                continue
            if service.daemon:
                entry.update(daemon=True, state_dir=str(run_directory / DAEMONS_DIRECTORY / host.node))
            specs.setdefault(host.node, []).append(entry)
    return specs


def prepare_services(protocols: set[str]) -> None:
    """Import the services and make their TLS certificates once, before forking the runners."""
    from lzr_sim.services import SERVICES
    unknown = sorted(protocols - set(SERVICES))
    if unknown:
        raise HarnessError(f"no synthetic service for {', '.join(unknown)}; known: {', '.join(sorted(SERVICES))}")
    for protocol in protocols:
        service = SERVICES[protocol]()
        if service.uses_tls:
            service.ssl_context()


def fork_runner(netns_pid: int, spec: list[dict], log_path: Path) -> tuple[int, int]:
    """Fork a services runner inside the namespace of `netns_pid`; returns (pid, stdout fd)."""
    from lzr_sim.services import serve

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        status = 1
        try:
            os.setsid()  # a terminal's Ctrl-C goes to the harness, which stops us in order
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            enter_netns(netns_pid)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(write_end, 1)
            os.dup2(log, 2)
            os.closerange(3, 65536)  # Mininet's ptys and the other runners' pipes
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            status = serve.main(["--spec-json", json.dumps({"services": spec})])
        except BaseException as error:  # report anything, then leave without unwinding the parent's stack
            with contextlib.suppress(Exception):
                os.write(1, f"FAILED {error!r}\n".encode())
        finally:
            os._exit(status)  # skip atexit: the parent owns the shared certificate directory
    os.close(write_end)
    return pid, read_end


def wait_ready(runners: dict[str, tuple[int, int]], timeout: float = SERVICE_READY_TIMEOUT) -> None:
    """Wait for every runner's READY line (runners: node -> (pid, stdout fd)); raise with the
    node's reason otherwise. Closes the pipes."""
    pending = {fd: node for node, (_, fd) in runners.items()}
    buffers = {fd: b"" for fd in pending}
    deadline = time.monotonic() + timeout
    try:
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError(f"services not ready after {timeout:.0f} s on {sorted(pending.values())}")
            readable, _, _ = select.select(list(pending), [], [], left)
            for fd in readable:
                chunk = os.read(fd, 4096)
                buffers[fd] += chunk
                line = buffers[fd].split(b"\n", 1)[0].decode(errors="replace")
                if line.startswith("READY"):
                    del pending[fd]
                elif line.startswith("FAILED") or not chunk:
                    raise HarnessError(f"services on {pending[fd]} failed: {line or 'runner exited'}")
    finally:
        for _, fd in runners.values():
            os.close(fd)
