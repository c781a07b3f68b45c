"""The `lzr` command: subcommands for users' tools, otherwise a scan with LZR's flags.

Flags are spelled as LZR (Go's flag package) spells them: one dash or two, `-x v` or `-x=v`,
bools as `-x` or `-x=true|false`. The short LZR names also have descriptive long forms.
Exit status: 0 done, 1 runtime error, 2 usage error (the message names the flag).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from lzr import config as config_module
from lzr.config import DEFAULT_COOLDOWN, ScanConfig, UsageError
from lzr.runtime.scan import EXIT_INTERRUPTED, EXIT_USAGE, run as run_scan
from lzr.runtime.worker import DEFAULT_HOST_RATE, DEFAULT_PARALLEL

TOOL_COMMANDS = ("probe", "fingerprint", "handshakes")


_TRUE = {"1", "t", "true", "yes"}
_FALSE = {"0", "f", "false", "no"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default prints the whole usage block
        self.exit(EXIT_USAGE, f"lzr: {message}\n(see lzr --help)\n")


def _names(*names: str) -> list[str]:
    """Every name with one and with two dashes, as Go's flag package accepts them."""
    out = []
    for name in names:
        bare = name.lstrip("-")
        out += [f"-{bare}", f"--{bare}"]
    return out


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="lzr",
        description="Identify the services behind open TCP ports: completes each handshake with "
                    "an ACK that carries a probe and fingerprints the first response. Reads ZMap's "
                    "output on stdin, or IP;PORT lines with -sendSYNs, or scans --targets x --ports.",
        epilog="Subcommands: lzr probe|fingerprint|handshakes ... (see lzr handshakes --help).",
        allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter)

    out = p.add_argument_group("output")
    out.add_argument(*_names("f", "--output"), dest="output", metavar="FILE",
                     default=f"default_{time.strftime('%Y%m%d%H%M%S')}.json",
                     help="append records to FILE; '-' is stdout (default: default_<time>.json)")
    out.add_argument(*_names("feedZGrab"), dest="feed_zgrab", action="store_true",
                     help="also print 'ip,,label,port' lines for zgrab2 multiple on stdout")
    out.add_argument(*_names("onlyDataRecord"), dest="only_data_record", action="store_true",
                     help="write only records that carry data (all are still counted)")
    out.add_argument(*_names("--extended"), dest="extended", action="store_true",
                     help="add provenance fields (handshake, handshakesTried, identifySeconds)")
    out.add_argument(*_names("--quiet", "-q"), dest="quiet", action="store_true",
                     help="no start-up lines and no progress line on stderr")
    out.add_argument(*_names("d", "--debug"), dest="debug", action="store_true",
                     help="debug lines on stderr")

    hs = p.add_argument_group("handshakes and fingerprinting")
    hs.add_argument(*_names("handshakes"), default="http", metavar="LIST",
                    help="comma-separated handshakes in attempt order, or 'all' (default: http)")
    hs.add_argument(*_names("priorityFingerprint"), dest="priority", default="", metavar="LIST",
                    help="names preferred when several fingerprint rules match")
    hs.add_argument(*_names("forceAllHandshakes"), dest="force_all", action="store_true",
                    help="try every handshake even after data (sets -haf 0)")
    hs.add_argument(*_names("pushDataOnly"), dest="push_data_only", action="store_true",
                    help="complete the handshake with a pure ACK; send the probe only when retransmitting")
    hs.add_argument(*_names("haf"), type=int, default=0, metavar="N",
                    help="random ephemeral ports probed to filter ACKing firewalls (0 = off)")
    hs.add_argument(*_names("hafThreshold"), dest="haf_threshold", type=float, default=1.0,
                    metavar="F", help="fraction of -haf probes that must answer, in [0,1] (default 1.0)")
    hs.add_argument(*_names("--compat"), dest="compat", action="store_true",
                    help="stop at the first data as LZR does (no going on after unknown data)")
    hs.add_argument(*_names("--parallel"), dest="parallel", type=int, metavar="N",
                    help=f"handshakes of one target in flight at once (default {DEFAULT_PARALLEL}); "
                         "--compat runs one at a time")
    hs.add_argument(*_names("--per-host-limit"), dest="per_host_limit", type=int, metavar="N",
                    help="concurrent connections to one address (default: --parallel)")
    hs.add_argument(*_names("--host-rate"), dest="host_rate", type=float,
                    default=DEFAULT_HOST_RATE, metavar="R",
                    help=f"extra connections started per second to one address "
                         f"(default {DEFAULT_HOST_RATE:g}; 0 = no limit)")

    timing = p.add_argument_group("timing")
    timing.add_argument(*_names("t", "--timeout"), dest="timeout", type=float, default=5.0,
                        metavar="S", help="seconds to wait for an answer (default 5)")
    timing.add_argument(*_names("rt", "--retransmit-after"), dest="retransmit_after", type=float,
                        default=1.0, metavar="S", help="seconds before the first retransmission (default 1)")
    timing.add_argument(*_names("rn", "--retries"), dest="retries", type=int, default=1, metavar="N",
                        help="retransmissions of a probe or SYN (default 1)")
    timing.add_argument(*_names("c", "--cooldown"), dest="cooldown", type=float, default=None,
                        metavar="S", help="seconds to wait for late SYN-ACKs after ZMap's input ends (default 8); "
                        "when lzr sends the SYNs each waits -t x (-rn + 1) for its own, so only "
                        "--compat waits this too")
    timing.add_argument(*_names("rate"), type=int, default=10000, metavar="N",
                        help="new targets per second when sending SYNs (default 10000)")
    timing.add_argument(*_names("w", "--workers"), dest="workers", type=int,
                        default=os.cpu_count() or 1, metavar="K",
                        help="worker processes (default: number of cores)")
    timing.add_argument(*_names("--senders"), dest="senders", type=int, default=1, metavar="K",
                        help="range scans: processes sending SYNs, like zmap -T (default 1)")

    inp = p.add_argument_group("input")
    inp.add_argument(*_names("sendSYNs"), dest="send_syns", action="store_true",
                     help="read IP;PORT (or IP:PORT, [v6]:PORT) lines and send the SYNs")
    inp.add_argument(*_names("dryrun"), action="store_true",
                     help="read `zmap --dryrun` output and send the SYNs (implies -sendSYNs)")
    inp.add_argument(*_names("--input-format"), dest="input_format", default="auto",
                     choices=config_module.INPUT_FORMATS, help="ZMap input: json, csv or auto")
    inp.add_argument(*_names("--strict"), dest="strict", action="store_true",
                     help="abort on the first malformed input line instead of skipping it")
    inp.add_argument(*_names("--targets"), dest="targets", default="", metavar="CIDRS",
                     help="scan these addresses/CIDRs (comma-separated) instead of reading stdin")
    inp.add_argument(*_names("--ports"), dest="ports", default="", metavar="LIST",
                     help="ports for --targets, e.g. 80,443,8000-8100")
    inp.add_argument(*_names("--seed"), dest="seed", type=int, metavar="N",
                     help="permutation seed; the same seed on every machine of a sharded scan")
    inp.add_argument(*_names("--shards"), dest="shards", type=int, default=1, metavar="N",
                     help="split the target space into N slices (ZMap's meaning)")
    inp.add_argument(*_names("--shard"), dest="shard", type=int, default=0, metavar="I",
                     help="the slice this run scans, 0-based")
    inp.add_argument(*_names("--max-targets"), dest="max_targets", type=int, metavar="N",
                     help="stop after N targets of this shard")
    inp.add_argument(*_names("--checkpoint"), dest="checkpoint", metavar="FILE",
                     help="range scans: record progress in FILE and resume from it")
    inp.add_argument(*_names("--print-targets"), dest="print_targets", action="store_true",
                     help="print the targets this run would scan (IP;PORT) and send nothing")
    inp.add_argument(*_names("--blocklist"), dest="blocklist", metavar="FILE",
                     help="never send to (or accept from) addresses in FILE (CIDR per line)")
    inp.add_argument(*_names("--allowlist"), dest="allowlist", metavar="FILE",
                     help="only scan addresses in FILE")
    inp.add_argument(*_names("--allow-reserved"), dest="allow_reserved", action="store_true",
                     help="allow reserved and private ranges (emulated networks, labs)")

    net = p.add_argument_group("network")
    net.add_argument(*_names("sourceIP", "--source-ip"), dest="source_ip", metavar="ADDR",
                     help="scanner address (default: the address of the route's interface)")
    net.add_argument(*_names("gatewayMac", "--gateway-mac"), dest="gateway_mac", metavar="MAC",
                     help="destination MAC of every frame (default: next hop from the kernel)")
    net.add_argument(*_names("sendInterface", "--interface"), dest="send_interface", metavar="IF",
                     help="capture and send interface (default: the route's interface)")
    net.add_argument(*_names("ipv6"), action="store_true", help="scan over IPv6")
    net.add_argument(*_names("--source-ports"), dest="source_ports", default="32768-61000",
                     metavar="LO-HI", help="local ports of our connections (default 32768-61000)")
    net.add_argument(*_names("--rst-guard"), dest="rst_guard", choices=config_module.RST_GUARD_MODES,
                     help="how the kernel's RSTs are suppressed (default source-ports)")

    prof = p.add_argument_group("profiling")
    prof.add_argument(*_names("cpuprofile"), metavar="FILE",
                      help="write a cProfile of each process to FILE.<process>")
    prof.add_argument(*_names("memprofile"), metavar="FILE",
                      help="write the largest allocations of each process to FILE.<process>")
    return p


def _bool_flags(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions if isinstance(action, argparse._StoreTrueAction)
            for opt in action.option_strings}


def _go_bools(argv: list[str], bool_flags: set[str]) -> list[str]:
    """Go accepts `-flag=true|false` for booleans; argparse does not."""
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if eq and name in bool_flags:
            if value.lower() in _TRUE:
                out.append(name)
            elif value.lower() not in _FALSE:
                raise UsageError(name, f"not a boolean: {value!r}")
            continue
        out.append(arg)
    return out


def _ports(flag: str, text: str) -> tuple[int, ...]:
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


def parse_args(argv: list[str]) -> ScanConfig:
    """Flags -> validated ScanConfig; raises UsageError (argparse errors exit 2 itself)."""
    parser = build_parser()
    ns = parser.parse_args(_go_bools(argv, _bool_flags(parser)))
    low, _, high = ns.source_ports.partition("-")
    try:
        source_ports = (int(low), int(high or low))
    except ValueError:
        raise UsageError("--source-ports", f"not a port range: {ns.source_ports!r}") from None
    force_all = ns.force_all
    cfg = ScanConfig(
        output=ns.output,
        handshakes=config_module.parse_handshakes("-handshakes", ns.handshakes),
        priority=config_module.parse_handshakes("-priorityFingerprint", ns.priority) if ns.priority else (),
        send_syns=ns.send_syns or ns.dryrun,
        dryrun=ns.dryrun,
        rate=ns.rate,
        source_ip=ns.source_ip,
        gateway_mac=ns.gateway_mac,
        send_interface=ns.send_interface,
        timeout=ns.timeout,
        retransmit_after=ns.retransmit_after,
        retries=ns.retries,
        cooldown=DEFAULT_COOLDOWN if ns.cooldown is None else ns.cooldown,
        workers=ns.workers,
        senders=ns.senders,
        haf=0 if force_all else ns.haf,             # LZR: force mode turns HAF off
        haf_threshold=0.0 if force_all else ns.haf_threshold,
        force_all=force_all,
        push_data_only=ns.push_data_only,
        feed_zgrab=ns.feed_zgrab,
        only_data_record=ns.only_data_record,
        ipv6=ns.ipv6,
        debug=ns.debug,
        cpuprofile=ns.cpuprofile,
        memprofile=ns.memprofile,
        targets=tuple(filter(None, (t.strip() for t in ns.targets.split(",")))),
        ports=_ports("--ports", ns.ports),
        seed=ns.seed,
        shards=ns.shards,
        shard=ns.shard,
        max_targets=ns.max_targets,
        blocklist=ns.blocklist,
        allowlist=ns.allowlist,
        allow_reserved=ns.allow_reserved,
        checkpoint=ns.checkpoint,
        strict=ns.strict,
        quiet=ns.quiet,
        rst_guard=ns.rst_guard,
        source_ports=source_ports,
        input_format=ns.input_format,
        print_targets=ns.print_targets,
        compat=ns.compat,
        parallel=ns.parallel,
        per_host_limit=ns.per_host_limit,
        host_rate=ns.host_rate,
        extended=ns.extended,
    )
    cfg.validate()
    if ns.cooldown is not None and not cfg.waits_cooldown:
        print("lzr: -c has no effect when lzr sends the SYNs: each waits -t x (-rn + 1) for its "
              "SYN-ACK (add --compat for LZR's cooldown)", file=sys.stderr)
    return cfg


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOL_COMMANDS:
        from lzr import tools
        return tools.main(argv)
    try:
        cfg = parse_args(argv)
    except UsageError as err:
        print(f"lzr: {err}\n(see lzr --help)", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run_scan(cfg)
    except KeyboardInterrupt:   # Ctrl-C before the scan's own handler is in place
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
