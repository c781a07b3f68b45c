"""ScanConfig: every setting of one scan, validated once before anything starts.

The command line (lzr/cli.py) fills it; the runtime only reads it. A bad value raises
`UsageError` naming the flag, which the command line turns into exit status 2.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

# The input modes, decided from the flags (lzr-behaviour.md §1.2 plus ranges).
ZMAP = "zmap"        # stdin: ZMap JSON or CSV, SYN-ACKs already seen
SYNS = "syns"        # stdin: IP;PORT lines, we send the SYNs
DRYRUN = "dryrun"    # stdin: `zmap --dryrun` text, we send the SYNs
RANGES = "ranges"    # --targets x --ports, walked in a seeded permutation, we send the SYNs

RST_GUARD_MODES = ("source-ip", "source-ports", "nfqueue", "none")
INPUT_FORMATS = ("auto", "json", "csv")
DEFAULT_COOLDOWN = 8.0                    # -c, LZR's
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class UsageError(ValueError):
    """A flag has a value the scan cannot run with."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"{flag}: {message}")
        self.flag = flag


@dataclass(frozen=True)
class ScanConfig:
    output: str = "-"
    handshakes: tuple[str, ...] = ("http",)
    priority: tuple[str, ...] = ()
    send_syns: bool = False
    dryrun: bool = False
    rate: int = 10000                     # new targets per second, all workers together
    source_ip: str | None = None
    gateway_mac: str | None = None
    send_interface: str | None = None
    timeout: float = 5.0
    retransmit_after: float = 1.0
    retries: int = 1
    cooldown: float = DEFAULT_COOLDOWN
    workers: int = 1
    senders: int = 1                      # range scans: processes sending the SYNs
    haf: int = 0
    haf_threshold: float = 1.0
    force_all: bool = False
    push_data_only: bool = False
    feed_zgrab: bool = False
    only_data_record: bool = False
    ipv6: bool = False
    debug: bool = False
    cpuprofile: str | None = None
    memprofile: str | None = None
    # Beyond LZR's flags.
    targets: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    seed: int | None = None
    shards: int = 1
    shard: int = 0
    max_targets: int | None = None
    blocklist: str | None = None
    allowlist: str | None = None
    allow_reserved: bool = False
    checkpoint: str | None = None
    strict: bool = False
    quiet: bool = False
    rst_guard: str | None = None          # None: chosen from the input mode
    source_ports: tuple[int, int] = (32768, 61000)
    input_format: str = "auto"
    print_targets: bool = False
    compat: bool = False
    parallel: int | None = None           # None: the engine's default
    per_host_limit: int | None = None     # None: equal to parallel
    host_rate: float = 20.0               # extra connections per second to one address; 0: no cap
    extended: bool = False

    @property
    def mode(self) -> str:
        if self.targets:
            return RANGES
        if self.dryrun:
            return DRYRUN
        if self.send_syns:
            return SYNS
        return ZMAP

    @property
    def sends_syns(self) -> bool:
        return self.mode != ZMAP

    @property
    def waits_cooldown(self) -> bool:
        """Does the scan wait out -c after its last new target? Only for SYN-ACKs it cannot
        track: ZMap's (lzr never sees which SYNs ZMap sent) or, with --compat, as LZR does.
        When lzr sends the SYNs, each waits -t x (-rn + 1) for its SYN-ACK in the engine, so
        once every target has its final record no SYN is left to wait for."""
        return self.compat or not self.sends_syns

    @property
    def version(self) -> int:
        return 6 if self.ipv6 else 4

    @property
    def guard_mode(self) -> str:
        return self.rst_guard or "source-ports"

    def validate(self) -> "ScanConfig":
        """Check every value; returns self so it chains after construction."""
        _positive("-rate", self.rate)
        _positive("-t", self.timeout)
        _positive("-rt", self.retransmit_after)
        _at_least("-rn", self.retries, 0)
        _at_least("-c", self.cooldown, 0)
        _positive("-w", self.workers)
        _positive("--senders", self.senders)
        _at_least("-haf", self.haf, 0)
        if not 0.0 <= self.haf_threshold <= 1.0:
            raise UsageError("-hafThreshold", f"must be in [0, 1], got {self.haf_threshold}")
        if self.parallel is not None:
            _positive("--parallel", self.parallel)
        if self.per_host_limit is not None:
            _positive("--per-host-limit", self.per_host_limit)
        _at_least("--host-rate", self.host_rate, 0)
        if not self.handshakes:
            raise UsageError("-handshakes", "needs at least one handshake")
        if self.gateway_mac is not None and not _MAC_RE.match(self.gateway_mac):
            raise UsageError("-gatewayMac", f"not a MAC address: {self.gateway_mac!r}")
        if self.source_ip is not None:
            self._check_address("-sourceIP", self.source_ip)
        if self.send_interface is not None and not os.path.exists(
                f"/sys/class/net/{self.send_interface}") and not self.print_targets:
            raise UsageError("-sendInterface", f"no such interface: {self.send_interface!r}")
        if self.rst_guard is not None and self.rst_guard not in RST_GUARD_MODES:
            raise UsageError("--rst-guard", f"one of {', '.join(RST_GUARD_MODES)}")
        if self.input_format not in INPUT_FORMATS:
            raise UsageError("--input-format", f"one of {', '.join(INPUT_FORMATS)}")
        low, high = self.source_ports
        if not 1 <= low <= high <= 65535:
            raise UsageError("--source-ports", f"not a port range: {low}-{high}")
        if high - low + 1 < self.workers:
            raise UsageError("--source-ports",
                             f"{high - low + 1} ports cannot be split over {self.workers} workers")
        if self.dryrun and self.targets:
            raise UsageError("-dryrun", "cannot be combined with --targets")
        if self.targets and not self.ports:
            raise UsageError("--ports", "is required with --targets")
        if self.ports and not self.targets:
            raise UsageError("--targets", "is required with --ports")
        for cidr in self.targets:
            self._check_network("--targets", cidr)
        _positive("--shards", self.shards)
        if self.shards > 1 and self.seed is None:
            raise UsageError("--seed", "is required with --shards: every shard must walk the "
                                       "same permutation")
        if not 0 <= self.shard < self.shards:
            raise UsageError("--shard", f"must be in [0, {self.shards - 1}], got {self.shard}")
        if self.max_targets is not None:
            _positive("--max-targets", self.max_targets)
        if self.checkpoint and self.mode != RANGES:
            raise UsageError("--checkpoint", "only applies to range scans (--targets/--ports)")
        for flag, path in (("--blocklist", self.blocklist), ("--allowlist", self.allowlist)):
            if path is not None and not os.path.isfile(path):
                raise UsageError(flag, f"no such file: {path!r}")
        if self.feed_zgrab and self.output == "-":
            raise UsageError("-feedZGrab", "writes to stdout, so it cannot be combined with -f -")
        return self

    def _check_address(self, flag: str, text: str) -> None:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            raise UsageError(flag, f"not an IP address: {text!r}") from None
        if addr.version != self.version:
            hint = "" if self.ipv6 else " (add -ipv6)"
            raise UsageError(flag,
                             f"{text} is IPv{addr.version} but the scan is IPv{self.version}{hint}")

    def _check_network(self, flag: str, text: str) -> None:
        from lzr.targets.blocklist import parse_network
        from lzr.targets.types import TargetSpecError
        try:
            version, _, _ = parse_network(text)
        except (TargetSpecError, ValueError) as err:
            raise UsageError(flag, str(err)) from None
        if version != self.version:
            raise UsageError(flag, f"{text} is IPv{version} but the scan is IPv{self.version}")


def _positive(flag: str, value) -> None:
    if value <= 0:
        raise UsageError(flag, f"must be > 0, got {value}")


def _at_least(flag: str, value, minimum) -> None:
    if value < minimum:
        raise UsageError(flag, f"must be >= {minimum}, got {value}")


def parse_handshakes(flag: str, text: str) -> tuple[str, ...]:
    """A comma-separated handshake list (or 'all') -> names; unknown names are usage errors."""
    from lzr.handshakes import UnknownHandshake, parse_list
    try:
        return tuple(parse_list(text))
    except UnknownHandshake as err:
        raise UsageError(flag, str(err)) from None
