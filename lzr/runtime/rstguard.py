"""The RST guard: keep the scanning host's kernel from resetting the scanner's connections.

The scanner completes TCP handshakes with hand-built packets, so the kernel of the scanning
host sees SYN-ACKs for connections it never opened and answers each with a RST, which kills
the target's half-open connection before the scanner's ACK arrives. The guard adds one
iptables (ip6tables for IPv6) rule to the OUTPUT chain that stops those RSTs. The scanner's
own packets leave through AF_PACKET, which does not traverse OUTPUT, so they are untouched.

Modes (docs/rst-guard.md has the full story):

* ``source-ip``: LZR's rule, drop every RST from the scanning address.
* ``source-ports``: drop RSTs from the scanning address only when they come from the
  scanner's local port range, so the host's other connections keep their RSTs.
* ``nfqueue``: send RSTs from the scanning address to an NFQUEUE; a thread drops those of
  flows the scanner owns and lets the rest pass. With ``--queue-bypass`` the RSTs pass when
  no program listens on the queue.

Every rule carries a comment ``lzr-rstguard pid=<pid> start=<process start time>``. A rule
whose process is gone (pid dead, or reused by a process that started at another time) is
stale: the next install removes it, so a run killed with SIGKILL leaves nothing behind for
longer than until the next start.
"""
from __future__ import annotations

import ipaddress
import os
import shlex
import shutil
import struct
import subprocess
import threading
import time
from collections import deque
from typing import Callable

MODES = ("source-ip", "source-ports", "nfqueue")
COMMENT_PREFIX = "lzr-rstguard"
DEFAULT_NFQUEUE_NUM = 7117
# How long the nfqueue mode holds a RST of a flow nobody announced yet: a worker announces a
# flow just before sending its SYN, and the announcement can arrive after the SYN-ACK.
DEFAULT_HOLD_SECONDS = 0.25
# Held RSTs stay in the kernel's queue: make room for bursts (the library's default is 1024).
QUEUE_MAX_LEN = 65536
# Only the IP and TCP port fields are read; copying 128 bytes per RST keeps the socket small.
QUEUE_COPY_BYTES = 128

OwnsCallable = Callable[[int, int, int], bool]


class RstGuardError(RuntimeError):
    """The guard cannot be installed or removed; the message says what to do."""


# ---------------------------------------------------------------------------------------------
# Rule text (pure functions)


def iptables_binary(version: int) -> str:
    """The command that manages rules for this IP version."""
    if version not in (4, 6):
        raise ValueError(f"IP version must be 4 or 6, not {version!r}")
    return "iptables" if version == 4 else "ip6tables"


def rule_comment(pid: int, start_time: int) -> str:
    return f"{COMMENT_PREFIX} pid={pid} start={start_time}"


def lzr_rule(source_ip: str) -> list[str]:
    """LZR's rule (its Makefile) as an argv, for reference and comparison."""
    version = ipaddress.ip_address(source_ip).version
    return [iptables_binary(version), "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST",
            "-s", source_ip, "-j", "DROP"]


def rule_spec(mode: str, source_ip: str, comment: str, local_ports: range | None = None,
              nfqueue_num: int = DEFAULT_NFQUEUE_NUM) -> list[str]:
    """The match and target of the guard's rule, without command and chain.

    For ``source-ip`` this is LZR's rule with the comment match inserted before the target.
    """
    if mode not in MODES:
        raise ValueError(f"unknown RST guard mode {mode!r}; choose one of {', '.join(MODES)}")
    ipaddress.ip_address(source_ip)
    spec = ["-p", "tcp", "--tcp-flags", "RST", "RST", "-s", source_ip]
    if mode == "source-ports" or (mode == "nfqueue" and local_ports is not None):
        spec += ["--sport", port_range_text(local_ports)]
    spec += ["-m", "comment", "--comment", comment]
    if mode == "nfqueue":
        spec += ["-j", "NFQUEUE", "--queue-num", str(nfqueue_num), "--queue-bypass"]
    else:
        spec += ["-j", "DROP"]
    return spec


def port_range_text(ports: range | None) -> str:
    """`range(40000, 41000)` -> "40000:40999" (iptables' inclusive form)."""
    if ports is None or len(ports) == 0 or ports.step != 1:
        raise ValueError("local_ports must be a non-empty range with step 1")
    if ports.start < 1 or ports.stop - 1 > 65535:
        raise ValueError(f"local ports {ports.start}..{ports.stop - 1} are outside 1..65535")
    return f"{ports.start}:{ports.stop - 1}"


def add_command(version: int, spec: list[str]) -> list[str]:
    return [iptables_binary(version), "-w", "-A", "OUTPUT", *spec]


def delete_command(version: int, spec: list[str]) -> list[str]:
    return [iptables_binary(version), "-w", "-D", "OUTPUT", *spec]


def parse_comment(rule_line: str) -> tuple[int, int] | None:
    """(pid, start time) of a guard rule line of `iptables -S`, None for other rules."""
    tokens = shlex.split(rule_line)
    for index, token in enumerate(tokens[:-1]):
        if token == "--comment" and tokens[index + 1].startswith(COMMENT_PREFIX + " "):
            fields = dict(part.split("=", 1) for part in tokens[index + 1].split()[1:] if "=" in part)
            try:
                return int(fields["pid"]), int(fields["start"])
            except (KeyError, ValueError):
                return None
    return None


def stale_rule_deletions(version: int, listing: str, is_alive: Callable[[int, int], bool]) -> list[list[str]]:
    """Commands deleting the guard rules in an `iptables -S OUTPUT` listing whose run is gone."""
    commands = []
    for line in listing.splitlines():
        if not line.startswith("-A OUTPUT "):
            continue
        owner = parse_comment(line)
        if owner is not None and not is_alive(*owner):
            commands.append(delete_command(version, shlex.split(line)[2:]))
    return commands


# ---------------------------------------------------------------------------------------------
# Processes


def process_start_time(pid: int) -> int | None:
    """The start time of a process in clock ticks since boot, None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(b")") + 2:].split()
    return int(fields[19])


def run_is_alive(pid: int, start_time: int) -> bool:
    return process_start_time(pid) == start_time


# ---------------------------------------------------------------------------------------------
# The guard


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
            pid = os.getpid()
            spec = rule_spec(self.mode, self.source_ip, rule_comment(pid, process_start_time(pid)),
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
        commands = stale_rule_deletions(self.version, listing, run_is_alive)
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


# ---------------------------------------------------------------------------------------------
# nfqueue mode


def rst_flow_key(packet: bytes, version: int) -> tuple[int, int, int] | None:
    """(target address, target port, local port) of a kernel RST given as a bare IP packet.

    The kernel writes its RSTs without IPv6 extension headers, so fixed offsets suffice;
    anything that is not TCP yields None.
    """
    if version == 4:
        if len(packet) < 20 or packet[9] != 6:
            return None
        header_len = (packet[0] & 0x0F) * 4
        if len(packet) < header_len + 4:
            return None
        target_addr = int.from_bytes(packet[16:20], "big")
    else:
        header_len = 40
        if len(packet) < header_len + 4 or packet[6] != 6:
            return None
        target_addr = int.from_bytes(packet[24:40], "big")
    local_port, target_port = struct.unpack_from("!HH", packet, header_len)
    return target_addr, target_port, local_port


class Verdicts:
    """Which queued RST to drop and which to let through; no I/O, the clock is passed in.

    A packet is anything with `drop()` and `accept()`. A RST of an owned flow is dropped at
    once. Any other is held for `hold_seconds`: dropped as soon as its flow is announced
    (`flows_opened`), otherwise asked about once more when its time is up (`expire`) and let
    through if still not owned.
    """

    def __init__(self, owns: OwnsCallable, hold_seconds: float) -> None:
        self.owns = owns
        self.hold_seconds = hold_seconds
        self.dropped = 0
        self.accepted = 0
        # Held RSTs: each entry is [deadline, key, packet], packet None once it has its verdict.
        # `_expiry` is in arrival order (and so deadline order); `_held` finds them by flow.
        self._expiry: deque[list] = deque()
        self._held: dict[tuple[int, int, int], list[list]] = {}

    @property
    def next_deadline(self) -> float | None:
        return self._expiry[0][0] if self._expiry else None

    def on_rst(self, key: tuple[int, int, int] | None, packet, now: float) -> None:
        if key is not None and self._owned(key):
            self._drop(packet)
        elif key is not None and self.hold_seconds > 0:
            entry = [now + self.hold_seconds, key, packet]
            self._expiry.append(entry)
            self._held.setdefault(key, []).append(entry)
        else:
            self._accept(packet)

    def flows_opened(self, keys: list[tuple[int, int, int]]) -> None:
        for key in keys:
            for entry in self._held.pop(key, ()):
                self._drop(entry[2])
                entry[2] = None

    def expire(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            entry = self._expiry.popleft()
            _, key, packet = entry
            if packet is None:
                continue
            held = self._held[key]
            held.remove(entry)
            if not held:
                del self._held[key]
            if self._owned(key):
                self._drop(packet)
            else:
                self._accept(packet)

    def release_all(self) -> None:
        """Let every held RST through (the guard is going away)."""
        for _, _, packet in self._expiry:
            if packet is not None:
                self._accept(packet)
        self._expiry.clear()
        self._held.clear()

    def _owned(self, key: tuple[int, int, int]) -> bool:
        # An exception escaping into NetfilterQueue's callback would stop the loop; a failing
        # `owns` must only cost this one RST its guard.
        try:
            return bool(self.owns(*key))
        except Exception:
            return False

    def _drop(self, packet) -> None:
        packet.drop()
        self.dropped += 1

    def _accept(self, packet) -> None:
        packet.accept()
        self.accepted += 1


class QueueLoop:
    """A thread that reads the NFQUEUE and the flow announcements and applies `Verdicts`.

    Ownership comes from an `owns` callable or, without one, from a FlowTable fed by flow
    announcements on a ZeroMQ PULL socket that this loop binds.
    """

    def __init__(self, queue_num: int, version: int, owns: OwnsCallable | None,
                 announce_endpoint: str | None, hold_seconds: float,
                 also_owns: OwnsCallable | None = None) -> None:
        try:
            from netfilterqueue import NetfilterQueue
        except ImportError:
            raise RstGuardError("RST guard mode nfqueue needs the NetfilterQueue package: "
                                "pip install 'lzr[nfqueue]' (builds against libnetfilter-queue-dev)") from None
        import zmq
        from lzr.runtime import flow_announce

        self.version = version
        self._context = zmq.Context.instance()
        self._announcements = None
        self.table = None
        self.announce_endpoint = None
        if owns is None:
            self.table = flow_announce.FlowTable()
            owns = self.table.owns
            self._announcements = self._context.socket(zmq.PULL)
            self._announcements.linger = 0
            self.announce_endpoint = announce_endpoint or flow_announce.default_endpoint()
            self._announcements.bind(self.announce_endpoint)
        if also_owns is not None:
            announced = owns
            owns = lambda *key: announced(*key) or also_owns(*key)  # noqa: E731
        self.verdicts = Verdicts(owns, hold_seconds)
        self._queue = NetfilterQueue()
        try:
            self._queue.bind(queue_num, self._on_packet, max_len=QUEUE_MAX_LEN, range=QUEUE_COPY_BYTES,
                             sock_len=QUEUE_MAX_LEN * 2 * QUEUE_COPY_BYTES)
        except OSError as error:
            self._close_sockets()
            raise RstGuardError(f"RST guard: cannot listen on NFQUEUE {queue_num} ({error}); "
                                "another program may hold it: choose another queue number") from None
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="lzr-rstguard-nfqueue", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self.verdicts.dropped

    @property
    def accepted(self) -> int:
        return self.verdicts.accepted

    def stop(self) -> None:
        """Stop the thread, let held RSTs pass, release the queue. A second call does nothing."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        os.write(self._stop_write, b"x")
        thread.join()
        self.verdicts.release_all()
        self._queue.unbind()
        self._close_sockets()
        os.close(self._stop_read)
        os.close(self._stop_write)

    def _close_sockets(self) -> None:
        if self._announcements is not None:
            self._announcements.close()
            self._announcements = None
            # libzmq does not always unlink the socket file of an ipc:// endpoint it bound.
            if self.announce_endpoint.startswith("ipc://"):
                try:
                    os.unlink(self.announce_endpoint[len("ipc://"):])
                except FileNotFoundError:
                    pass

    def _loop(self) -> None:
        import zmq
        from lzr.runtime import frames

        poller = zmq.Poller()
        queue_fd = self._queue.get_fd()
        poller.register(queue_fd, zmq.POLLIN)
        poller.register(self._stop_read, zmq.POLLIN)
        if self._announcements is not None:
            poller.register(self._announcements, zmq.POLLIN)
        while True:
            deadline = self.verdicts.next_deadline
            timeout_ms = None if deadline is None else max(0.0, (deadline - time.monotonic()) * 1000)
            ready = dict(poller.poll(timeout_ms))
            if self._stop_read in ready:
                return
            # Announcements first: a flow opened just before its RST must count as owned.
            if self._announcements is not None and self._announcements in ready:
                while True:
                    try:
                        frame = self._announcements.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        self.verdicts.flows_opened(self.table.apply(frame))
                    except frames.FrameError:
                        continue
            if queue_fd in ready:
                self._queue.run(block=False)
            self.verdicts.expire(time.monotonic())

    def _on_packet(self, packet) -> None:
        self.verdicts.on_rst(rst_flow_key(packet.get_payload(), self.version), packet, time.monotonic())
