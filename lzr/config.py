"""ScanConfig: every setting of one scan, its default and its checks, in one place.

The command line (lzr/cli.py) only declares the flags: `ScanConfig.from_flags` turns the ones
given into a config, `validate` checks every value once before anything starts, and
`engine_config` derives what the engine reads (EngineConfig). Each rule between flags
(-forceAllHandshakes turns -haf off, --compat runs one handshake at a time, ...) is written
once, here. A bad value raises `UsageError` naming the flag, which the command line turns
into exit status 2. The runtime only reads the config.
"""
from __future__ import annotations

import ipaddress
import os
import pwd
import re
import time
from dataclasses import dataclass, field

# The input modes, decided from the flags (docs/lzr-reference.md §1.2 plus ranges).
ZMAP = "zmap"        # stdin: ZMap JSON or CSV, SYN-ACKs already seen
SYNS = "syns"        # stdin: IP;PORT lines, we send the SYNs
DRYRUN = "dryrun"    # stdin: `zmap --dryrun` text, we send the SYNs
RANGES = "ranges"    # --targets x --ports, walked in a seeded permutation, we send the SYNs

RST_GUARD_MODES = ("source-ip", "source-ports", "nfqueue", "none")
INPUT_FORMATS = ("auto", "json", "csv")
# Defaults that --compat changes to LZR's: setting -> (ours, LZR's). Ours fire: 2 of 3
# random closed ports answering make an ACKing firewall; LZR's never probe.
MODE_DEFAULTS = {"haf": (3, 0), "haf_threshold": (0.5, 1.0)}
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")

# The `lzr` command's exit statuses.
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """A flag has a value the scan cannot run with."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"{flag}: {message}")
        self.flag = flag


def _lzr_output_name() -> str:
    """LZR's default output file, named for the time the scan starts."""
    return f"default_{time.strftime('%Y%m%d%H%M%S')}.json"


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ScanConfig:
    output: str = field(default_factory=_lzr_output_name)    # -f; "-" is stdout
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
    cooldown: float = 8.0                 # -c, LZR's
    workers: int = field(default_factory=_cores)
    senders: int = 1                      # range scans: processes sending the SYNs
    max_in_flight: int | None = None      # targets with engine state; None: sized to memory
    haf: int | None = None                # ACKing-firewall probes; None: MODE_DEFAULTS
    haf_threshold: float | None = None    # None: MODE_DEFAULTS
    force_all: bool = False
    push_data_only: bool = False
    feed_zgrab: bool = False
    feed_zgrab_unknown: bool = False      # feed `unknown` records too (LZR does; --compat)
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
    parallel: int = 4                     # handshakes of one target at once (docs/identification.md)
    per_host_limit: int | None = None     # None: equal to parallel
    host_rate: float = 20.0               # extra connections per second to one address, like
                                          # ZGrab2's per-IP limit; 0: no cap
    extended: bool = False
    # Silent ports (docs/identification.md, "Silent ports", measured by bench/silent_ports.py);
    # --compat keeps LZR's timing.
    target_timeout: float = 0.0           # a target's budget in seconds; 0: none
    silent_probes: int = 0                # stop after N probes ACKed and never answered; 0: never
    answer_rtts: float = 8.0              # after the first round an ACKed probe's answer
    answer_floor: float = 0.25            # waits 8 round trips, at least 0.25 s, at most -t
    metadata_file: str | None = None
    status_updates_file: str | None = None
    command_line: tuple[str, ...] = ()    # the flags as given, for the metadata file
    user: str = "nobody"                  # who the workers, receiver, feeder and writer become

    @classmethod
    def from_flags(cls, given: dict[str, object]) -> "ScanConfig":
        """A validated config from the flags given on the command line (attribute -> value,
        lists and ranges still as text); every flag not given keeps its default."""
        values = dict(given)
        for name, flag in (("handshakes", "-handshakes"), ("priority", "-priorityFingerprint")):
            if name in values:
                values[name] = parse_handshakes(flag, values[name]) if values[name] else ()
        if "targets" in values:
            values["targets"] = tuple(filter(None, (t.strip() for t in values["targets"].split(","))))
        if "ports" in values:
            values["ports"] = parse_ports("--ports", values["ports"])
        if "source_ports" in values:
            values["source_ports"] = parse_port_range("--source-ports", values["source_ports"])
        if values.get("compat") and values.get("feed_zgrab"):
            values["feed_zgrab_unknown"] = True     # LZR feeds every record to ZGrab
        return cls(**values).validate()

    def notes(self, given: dict[str, object]) -> list[str]:
        """What to tell the user about flags given that cannot act or may surprise."""
        notes = []
        if self.dryrun and not self.print_targets:
            notes.append("-dryrun sends a SYN to every target it reads (it is LZR's flag, not "
                         "ZMap's --dryrun); --print-targets lists the targets and sends nothing")
        if "cooldown" in given and not self.waits_cooldown:
            notes.append("-c has no effect when lzr sends the SYNs: each waits -t x (-rn + 1) "
                         "for its SYN-ACK (add --compat for LZR's cooldown)")
        return notes

    def setting(self, name: str):
        """A setting whose default depends on --compat (MODE_DEFAULTS), as it applies."""
        value = getattr(self, name)
        return MODE_DEFAULTS[name][self.compat] if value is None else value

    def engine_config(self) -> "EngineConfig":
        """What the engine reads: the settings above with the rules between flags applied."""
        haf = 0 if self.force_all else self.setting("haf")   # LZR: force mode turns HAF off
        # LZR labels a firewall when more than int(F*N) probes answered, which F = 1.0 made
        # impossible (docs/lzr-reference.md §7.3-4); capped at N, 1.0 means "every probe".
        needed = min(int(self.setting("haf_threshold") * haf) + 1, haf)
        return EngineConfig(
            handshakes=self.handshakes, priority=self.priority or self.handshakes,
            timeout=self.timeout, retransmit_after=self.retransmit_after, retries=self.retries,
            force_all=self.force_all, push_data_only=self.push_data_only, compat=self.compat,
            parallel=1 if self.compat else self.parallel,
            per_host_limit=None if self.compat else self.per_host_limit or self.parallel,
            host_rate=0.0 if self.compat else self.host_rate,
            syn_retransmit_early=not self.compat,
            acked_retries=self.retries if self.compat else 0,
            answer_rtts=0.0 if self.compat else self.answer_rtts,
            answer_floor=0.0 if self.compat else self.answer_floor,
            silent_probes=0 if self.compat else self.silent_probes,
            skip_banner_waits=not self.compat,
            first_round_lingers=not self.compat,
            target_timeout=0.0 if self.compat else self.target_timeout,
            haf=haf, haf_needed=needed,
            # LZR's probes wait -t; ours decide before the second round of handshakes.
            haf_timeout=self.timeout if self.compat else self.retransmit_after,
            extended=self.extended)

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
        if self.max_in_flight is not None:
            _positive("--max-in-flight", self.max_in_flight)
        if self.haf is not None:
            _at_least("-haf", self.haf, 0)
        if self.haf_threshold is not None and not 0.0 <= self.haf_threshold <= 1.0:
            raise UsageError("-hafThreshold", f"must be in [0, 1], got {self.haf_threshold}")
        _positive("--parallel", self.parallel)
        if self.per_host_limit is not None:
            _positive("--per-host-limit", self.per_host_limit)
        _at_least("--host-rate", self.host_rate, 0)
        _at_least("--target-timeout", self.target_timeout, 0)
        _at_least("--silent-probes", self.silent_probes, 0)
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
        if not self.print_targets:
            _check_user(self.user)
        if self.input_format not in INPUT_FORMATS:
            raise UsageError("--input-format", f"one of {', '.join(INPUT_FORMATS)}")
        low, high = self.source_ports
        if not 1 <= low <= high <= 65535:
            raise UsageError("--source-ports", f"not a port range: {low}-{high}")
        engine = self.engine_config()
        if (high - low + 1) // self.workers <= engine.parallel + engine.haf:
            raise UsageError("--source-ports",
                             f"{high - low + 1} ports cannot be split over {self.workers} "
                             f"workers with {engine.parallel} parallel handshakes and "
                             f"{engine.haf} -haf probes each")
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
        for flag, path in (("--metadata-file", self.metadata_file),
                           ("--status-updates-file", self.status_updates_file)):
            if path is not None and not os.path.isdir(os.path.dirname(path) or "."):
                raise UsageError(flag, f"no such directory: {os.path.dirname(path)!r}")
        if self.feed_zgrab_unknown and not self.feed_zgrab:
            raise UsageError("--feed-zgrab-unknown", "only applies with -feedZGrab")
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


@dataclass(frozen=True)
class EngineConfig:
    """What the engine reads, made only by `ScanConfig.engine_config` (no defaults here).

    `compat` makes the engine behave as LZR (with its defects fixed): the first data ends
    the target whatever it says. Without it, data no rule recognises lets the next handshake
    go on, up to `parallel` handshakes of a target run at once, and the engine never holds
    more than `per_host_limit` extra connections to one address (lingering ones aside:
    `first_round_lingers`) and starts at most `host_rate` of them per second (0: no limit).
    A target's first connection is not an extra one: it is the port scan itself.
    """

    handshakes: tuple[str, ...]
    priority: tuple[str, ...]       # tie-break names: -priorityFingerprint, else -handshakes
    timeout: float                  # -t
    retransmit_after: float         # -rt
    retries: int                    # -rn
    force_all: bool
    push_data_only: bool
    compat: bool
    parallel: int                   # 1 with compat
    per_host_limit: int | None      # None: no cap (compat)
    host_rate: float                # 0: no limit
    syn_retransmit_early: bool      # the first SYN waits -rt (not -t) before it is sent again
    acked_retries: int              # retransmissions of a probe the target ACKed
    answer_rtts: float              # wait for an ACKed probe's answer this many round trips,
    answer_floor: float             # ... at least this long (0: always -t)
    silent_probes: int              # stop after this many ACKed, unanswered client-first
                                    # probes and a silent server-first window; 0: never
    skip_banner_waits: bool         # no server-first handshake once a banner window opened
    first_round_lingers: bool       # a first-round ACKed probe gives up its slot after its
                                    # answer wait and waits out -t without it
    target_timeout: float           # a target's budget in seconds; 0: none
    haf: int                        # ACKing-firewall probes; 0: none
    haf_needed: int                 # probe answers that make the verdict
    haf_timeout: float              # how long a probe waits for its answer
    extended: bool


def _check_user(user: str) -> None:
    try:
        pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except (KeyError, OverflowError):
        raise UsageError("--user", f"no user {user!r} on this system") from None


def parse_ports(flag: str, text: str) -> tuple[int, ...]:
    """"80,443,8000-8100" -> the ports in order, without repeats."""
    ports = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise UsageError(flag, f"not a port or range: {part!r}") from None
        if not 0 < first <= last <= 65535:
            raise UsageError(flag, f"ports must be in 1-65535: {part!r}")
        ports.extend(range(first, last + 1))
    return tuple(dict.fromkeys(ports))


def parse_port_range(flag: str, text: str) -> tuple[int, int]:
    """"LO-HI" (or one port) -> (LO, HI); checked by `validate`."""
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise UsageError(flag, f"not a port range: {text!r}") from None


def parse_handshakes(flag: str, text: str) -> tuple[str, ...]:
    """A comma-separated handshake list (or 'all') -> names; unknown names are usage errors."""
    from lzr.handshakes import UnknownHandshake, parse_list
    try:
        return tuple(parse_list(text))
    except UnknownHandshake as err:
        raise UsageError(flag, str(err)) from None
