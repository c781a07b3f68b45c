"""Run a list of services in one asyncio loop: `python -m lzr_sim.services.serve --spec SPEC.json`.

The spec is JSON, from a file (`--spec PATH`, `-` for stdin) or inline (`--spec-json TEXT`):

    {"services": [
      {"address": "0.0.0.0", "port": 8080, "protocol": "http"},
      {"address": "10.0.0.2", "port": 2222, "protocol": "ssh", "banner_delay": 3},
      {"port": 9000, "mode": "reset"},
      {"port": 9001, "protocol": "dns", "options": {"address": "192.0.2.7"}}
    ]}

Entry fields (only `port` is required; a bare list of entries is accepted too):
  address             bind address, default "0.0.0.0" ("::" for IPv6)
  port                TCP port; 0 picks a free one (the READY line says which)
  protocol            a label of lzr_sim.services.SERVICES; required in mode "normal"
  mode                "normal" (default): the protocol's server;
                      "silent": accept, read and discard everything, never answer;
                      "reset": accept, then abort the connection with a RST at once
  banner_delay        seconds to wait after accepting before the service runs (slow banner)
  connection_timeout  seconds a connection may last, default 60
  options             keyword options of the service (each service module lists its own)
  daemon              true: run the real Debian daemon for `protocol` instead of the
                      synthetic service (lzr_sim.daemons; needs a non-zero port and an
                      IPv4 address or 0.0.0.0); it
                      counts as bound once its port accepts connections
  state_dir           where a daemon keeps its files: <state_dir>/<protocol>-<port>/; default
                      a temporary directory removed when the runner stops

When every listener is bound the runner prints exactly one line on stdout and flushes it:

    READY <n> <port1> <port2> ... <portn>

n is the number of entries and the ports are the bound ports in spec order. If the spec is
invalid or a bind fails, it prints `FAILED <reason>` on stdout and exits with status 2, having
printed no READY line. It runs until SIGTERM or SIGINT, then closes every listener and
connection and exits 0. A service that raises an unexpected exception on one connection is
reported on stderr as a line starting `ERROR ` (with the traceback after it) and the runner
keeps serving.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lzr.runtime.process_identity import start_time
from lzr_sim.services import SERVICES
from lzr_sim.services.base import ProtocolError, Service
from lzr_sim.daemons import DAEMONS, Daemon, DaemonDirectory

MODES = ("normal", "silent", "reset")
DAEMON_READY_TIMEOUT = 20.0
# How a peer may end a connection without that being a service bug.
PEER_ENDINGS = (ProtocolError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                ssl.SSLError)


class SpecError(ValueError):
    """The spec is not what the docstring describes."""


@dataclass
class Listener:
    port: int
    address: str = "0.0.0.0"
    protocol: str | None = None
    mode: str = "normal"
    banner_delay: float = 0.0
    connection_timeout: float = 60.0
    options: dict[str, Any] = field(default_factory=dict)
    daemon: bool = False
    state_dir: str | None = None

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> "Listener":
        if not isinstance(entry, dict) or "port" not in entry:
            raise SpecError(f"entry without a port: {entry!r}")
        unknown = set(entry) - set(cls.__dataclass_fields__)
        if unknown:
            raise SpecError(f"unknown fields {sorted(unknown)} in {entry!r}")
        listener = cls(**entry)
        if not isinstance(listener.port, int) or not isinstance(listener.options, dict):
            raise SpecError(f"port must be an integer and options an object: {entry!r}")
        if listener.mode not in MODES:
            raise SpecError(f"mode must be one of {MODES}: {entry!r}")
        if listener.mode == "normal" and listener.protocol not in SERVICES:
            raise SpecError(f"unknown protocol {listener.protocol!r}; known: {', '.join(sorted(SERVICES))}")
        if not 0 <= int(listener.port) <= 65535:
            raise SpecError(f"port out of range: {entry!r}")
        if listener.daemon and (listener.mode != "normal" or listener.protocol not in DAEMONS
                                or not listener.port or ":" in listener.address):
            raise SpecError(f"a daemon needs mode normal, a port, an IPv4 address and one of "
                            f"{', '.join(DAEMONS)}: {entry!r}")
        return listener


def parse_spec(text: str) -> list[Listener]:
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(f"spec is not JSON: {error}") from None
    entries = spec.get("services") if isinstance(spec, dict) else spec
    if not isinstance(entries, list) or not entries:
        raise SpecError("spec must be a non-empty list of services or {\"services\": [...]}")
    return [Listener.from_dict(entry) for entry in entries]


def _report_bug(listener: Listener, port: int) -> None:
    print(f"ERROR {listener.protocol or listener.mode} port {port}: unexpected exception", file=sys.stderr)
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    # SO_LINGER on with a zero timeout makes close() send a RST instead of a FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Runner:
    """The listeners of one spec, started together and closed together."""

    def __init__(self, listeners: list[Listener]) -> None:
        self.listeners = listeners
        self.servers: list[asyncio.base_events.Server] = []
        self.connections: set[asyncio.Task] = set()
        self.daemons: list[RunningDaemon] = []
        self.temporary_dirs: list[Path] = []

    async def start(self) -> list[int]:
        """Bind every listener and start every daemon; returns the bound ports in spec order."""
        ports: list[int | None] = []
        for listener in self.listeners:
            ports.append(None if listener.daemon else await self._start_listener(listener))
        # Daemons set themselves up (databases, keys) for seconds: start them side by side.
        daemons = [(index, listener) for index, listener in enumerate(self.listeners) if listener.daemon]
        started = await asyncio.gather(*(self._start_daemon(listener) for _, listener in daemons),
                                       return_exceptions=True)
        for (index, _), result in zip(daemons, started):
            if isinstance(result, BaseException):
                raise result
            ports[index] = result
        return ports

    async def _start_listener(self, listener: Listener) -> int:
        service = SERVICES[listener.protocol](**listener.options) if listener.mode == "normal" else None
        if service is not None and service.uses_tls:
            service.ssl_context()  # make the certificate now, not on the first connection

        async def accept(reader, writer):
            task = asyncio.current_task()
            self.connections.add(task)
            task.add_done_callback(self.connections.discard)
            await self._connection(listener, service, reader, writer)

        server = await asyncio.start_server(accept, listener.address, listener.port, reuse_address=True)
        self.servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _start_daemon(self, listener: Listener) -> int:
        daemon = DAEMONS[listener.protocol]
        if listener.state_dir is None:
            base = Path(tempfile.mkdtemp(prefix="lzr-sim-daemon-"))
            base.chmod(0o755)  # daemons that run as their own user (mysql, postgres) reach their files
            self.temporary_dirs.append(base)
        else:
            base = Path(listener.state_dir)
        directory = DaemonDirectory(base / f"{listener.protocol}-{listener.port}", listener.address, listener.port)
        argv = await asyncio.to_thread(daemon.command, directory)
        log = open(directory.log / "output.log", "ab")
        try:
            # Its own process group, so stopping it also stops the workers it forks.
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                user=daemon.user)
        finally:
            log.close()
        self.daemons.append(RunningDaemon(daemon, directory, process))
        (directory.root / "pid").write_text(f"{process.pid} {start_time(process.pid)}\n")
        # Its port accepting a connection is the daemon's readiness signal.
        wildcard_to_loopback = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
        address = wildcard_to_loopback.get(listener.address, listener.address)
        deadline = asyncio.get_running_loop().time() + DAEMON_READY_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                raise OSError(f"{argv[0]} exited with status {process.returncode} (logs in {directory.log})")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(address, listener.port), 1.0)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return listener.port
        raise OSError(f"{argv[0]} did not listen on port {listener.port} within {DAEMON_READY_TIMEOUT:.0f} s "
                      f"(logs in {directory.log})")

    async def _connection(self, listener: Listener, service: Service | None,
                          reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if listener.mode == "reset":
                _abort_with_rst(writer)
                return
            if listener.banner_delay:
                await asyncio.sleep(listener.banner_delay)
            work = _discard(reader) if service is None else service.serve(reader, writer)
            await asyncio.wait_for(work, listener.connection_timeout)
        except PEER_ENDINGS:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            _report_bug(listener, writer.get_extra_info("sockname")[1])
        finally:
            writer.close()

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        for server in self.servers:
            await server.wait_closed()
        await asyncio.gather(*(running.stop() for running in self.daemons))
        for directory in self.temporary_dirs:
            shutil.rmtree(directory, ignore_errors=True)


@dataclass
class RunningDaemon:
    daemon: Daemon
    directory: DaemonDirectory
    process: asyncio.subprocess.Process

    async def stop(self, grace: float = 10.0) -> None:
        """Its stop signal to its process group, SIGKILL to the group after `grace` seconds;
        then its state goes, its configuration and logs stay."""
        group = self.process.pid
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, self.daemon.stop_signal)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except asyncio.TimeoutError:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # workers the daemon left behind
        await self.process.wait()
        with contextlib.suppress(FileNotFoundError):
            (self.directory.root / "pid").unlink()
        self.directory.discard_state()


async def run(listeners: list[Listener]) -> int:
    runner = Runner(listeners)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        ports = await runner.start()
    except BaseException as error:
        await runner.close()  # what did start is stopped before anyone hears of the failure
        if not isinstance(error, (OSError, ssl.SSLError, ValueError, subprocess.SubprocessError)):
            raise
        print(f"FAILED {error}", flush=True)
        return 2
    print(f"READY {len(ports)} {' '.join(map(str, ports))}", flush=True)
    await stop.wait()
    await runner.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lzr_sim.services.serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spec", help="JSON spec file, - for stdin")
    source.add_argument("--spec-json", help="JSON spec text")
    args = parser.parse_args(argv)
    try:
        if args.spec_json is not None:
            text = args.spec_json
        elif args.spec == "-":
            text = sys.stdin.read()
        else:
            with open(args.spec) as spec_file:
                text = spec_file.read()
        listeners = parse_spec(text)
    except (OSError, SpecError, TypeError) as error:
        print(f"FAILED {error}", flush=True)
        return 2
    return asyncio.run(run(listeners))


if __name__ == "__main__":
    sys.exit(main())
