"""The guard's lifetime: install its rule, always remove it, and clean up after dead runs."""
from __future__ import annotations

import ipaddress
import os
import shlex
import shutil
import subprocess
import threading

from lzr.runtime import process_identity
from lzr.runtime.rstguard.nfqueue import OwnsCallable, QueueLoop
from lzr.runtime.rstguard.rules import (
    DEFAULT_NFQUEUE_NUM, MODES, RstGuardError, add_command, delete_command, iptables_binary,
    rule_comment, rule_spec, stale_rule_deletions,
)

# How long the nfqueue mode holds a RST of a flow nobody announced yet: a worker announces a
# flow just before sending its SYN, and the announcement can arrive after the SYN-ACK.
DEFAULT_HOLD_SECONDS = 0.25


class RstGuard:
    """Installs the rule of one mode on `install()` and removes exactly that rule on `remove()`.

        with RstGuard("source-ports", "10.0.0.5", 4, range(40000, 50000)):
            scan()

    `remove()` is idempotent, so a signal handler may call it and the `with` block may still
    end normally. In ``nfqueue`` mode ownership comes from `owns(target_addr, target_port,
    local_port)` if given (called from the guard's thread), else from flow announcements
    received on `announce_endpoint` (see lzr.runtime.flow_announce); `also_owns` adds the
    flows of stateless SYNs, which are never announced (lzr.runtime.validation).
    """

    def __init__(self, mode: str, source_ip: str, version: int, local_ports: range | None = None,
                 nfqueue_num: int = DEFAULT_NFQUEUE_NUM, owns: OwnsCallable | None = None,
                 announce_endpoint: str | None = None,
                 hold_seconds: float = DEFAULT_HOLD_SECONDS,
                 also_owns: OwnsCallable | None = None) -> None:
        if mode not in MODES:
            raise RstGuardError(f"unknown RST guard mode {mode!r}; choose one of {', '.join(MODES)}")
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            raise RstGuardError(f"RST guard: {source_ip!r} is not an IP address") from None
        if address.version != version:
            raise RstGuardError(f"RST guard: {source_ip} is not an IPv{version} address")
        if mode == "source-ports" and local_ports is None:
            raise RstGuardError("RST guard mode source-ports needs the scanner's local port range")
        self.mode = mode
        self.source_ip = address.compressed
        self.version = version
        self.local_ports = local_ports
        self.nfqueue_num = nfqueue_num
        self.owns = owns
        self.also_owns = also_owns
        self.announce_endpoint = announce_endpoint
        self.hold_seconds = hold_seconds
        self.queue_loop: QueueLoop | None = None
        self._spec: list[str] | None = None
        self._lock = threading.RLock()

    @property
    def installed(self) -> bool:
        return self._spec is not None

    def __enter__(self) -> "RstGuard":
        self.install()
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def install(self) -> None:
        with self._lock:
            if self._spec is not None:
                return
            self._check_iptables()
            self.remove_stale_rules()
            spec = rule_spec(self.mode, self.source_ip,
                             rule_comment(*process_identity.own_identity()),
                             self.local_ports, self.nfqueue_num)
            if self.mode == "nfqueue":
                # Listen before the rule exists, so no RST meets an empty queue.
                self.queue_loop = QueueLoop(self.nfqueue_num, self.version, self.owns,
                                            self.announce_endpoint, self.hold_seconds,
                                            self.also_owns)
                self.announce_endpoint = self.queue_loop.announce_endpoint
            # Recorded before adding, so an interrupt during the add still leads remove() to it.
            self._spec = spec
            try:
                self._iptables(add_command(self.version, spec))
            except BaseException:
                self.remove()
                raise

    def remove(self) -> None:
        """Delete this guard's rule and stop its queue thread; safe to call any number of times."""
        with self._lock:
            try:
                spec = self._spec
                if spec is not None:
                    # The rule counts as installed until its deletion is done: a signal handler
                    # calling remove() meanwhile deletes it again rather than assuming it gone.
                    result = self._run(delete_command(self.version, spec))
                    # A rule someone else already deleted is as good as removed.
                    if result.returncode != 0 and "does a matching rule exist" not in result.stderr.lower():
                        raise RstGuardError(
                            f"RST guard: could not remove its rule: {result.stderr.strip()}; delete it with "
                            f"{shlex.join(delete_command(self.version, spec))}")
                    self._spec = None
            finally:
                self._stop_queue_loop()

    def remove_stale_rules(self) -> list[list[str]]:
        """Delete guard rules left by runs that are gone; returns the commands it ran."""
        listing = self._iptables([iptables_binary(self.version), "-w", "-S", "OUTPUT"]).stdout
        commands = stale_rule_deletions(self.version, listing, process_identity.is_alive)
        for command in commands:
            self._run(command)
        return commands

    def _stop_queue_loop(self) -> None:
        if self.queue_loop is not None:
            self.queue_loop.stop()

    def _check_iptables(self) -> None:
        binary = iptables_binary(self.version)
        if shutil.which(binary) is None:
            raise RstGuardError(
                f"RST guard: {binary} not found; install it (Debian: apt-get install iptables)")
        result = self._run([binary, "-w", "-S", "OUTPUT"])
        if result.returncode != 0:
            hint = "run lzr as root" if os.geteuid() != 0 else "check that the kernel supports iptables"
            raise RstGuardError(f"RST guard: {binary} failed ({result.stderr.strip()}); {hint}")

    def _iptables(self, argv: list[str]) -> subprocess.CompletedProcess:
        result = self._run(argv)
        if result.returncode != 0:
            raise RstGuardError(f"RST guard: {shlex.join(argv)} failed: {result.stderr.strip()}")
        return result

    @staticmethod
    def _run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True)
