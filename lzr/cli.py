"""The `lzr` command: subcommands for users' tools, otherwise a scan with LZR's flags.

Flags are spelled as LZR (Go's flag package) spells them: one dash or two, `-x v` or `-x=v`,
bools as `-x` or `-x=true|false`. The short LZR names also have descriptive long forms.
Exit status: 0 done, 1 runtime error, 2 usage error (the message names the flag).

This module declares the flags and their help only: a flag not given is left out, and
`ScanConfig` (lzr/config.py) gives its default, checks its value and applies the rules
between flags.
"""
from __future__ import annotations

import argparse
import dataclasses
import signal
import sys

from lzr import config as config_module, subcommands
from lzr.argparsing import ExactArgumentParser, add_version
from lzr.config import EXIT_INTERRUPTED, EXIT_USAGE, ScanConfig, UsageError


_TRUE = {"1", "t", "true", "yes"}
_FALSE = {"0", "f", "false", "no"}


class _Parser(ExactArgumentParser):
    def error(self, message: str):  # argparse's default prints the whole usage block
        self.exit(EXIT_USAGE, f"lzr: {message}\n(see lzr --help)\n")


def _default(name: str) -> str:
    """ScanConfig's default for a setting, as help text shows it."""
    value = {f.name: f.default for f in dataclasses.fields(ScanConfig)}[name]
    if value is None:
        ours, lzrs = config_module.MODE_DEFAULTS[name]
        return f"{ours:g}; --compat {lzrs:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


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
        epilog="Subcommands: lzr probe|fingerprint|handshakes|analyze ... (see lzr analyze --help).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS)
    add_version(p, "-version", "--version")

    out = p.add_argument_group("output")
    out.add_argument(*_names("f", "--output"), dest="output", metavar="FILE",
                     help="append records to FILE; '-' is stdout (default: default_<time>.json)")
    out.add_argument(*_names("feedZGrab"), dest="feed_zgrab", action="store_true",
                     help="also print 'ip,,label,port' lines for zgrab2 multiple on stdout "
                          "(etc/zgrab2.ini), except for records labelled unknown")
    out.add_argument(*_names("--feed-zgrab-unknown"), dest="feed_zgrab_unknown",
                     action="store_true",
                     help="with -feedZGrab, feed unknown records too (as LZR and --compat do)")
    out.add_argument(*_names("onlyDataRecord"), dest="only_data_record", action="store_true",
                     help="write only records that carry data (all are still counted)")
    out.add_argument(*_names("--extended"), dest="extended", action="store_true",
                     help="add provenance fields (handshake, handshakesTried, identifySeconds, outcome) "
                          "and dataBase64, the exact payload bytes")
    out.add_argument(*_names("--metadata-file"), dest="metadata_file", metavar="FILE",
                     help="at the end, write the run's metadata to FILE as JSON: version, flags, "
                          "times, the summary's counts, rates, interface, addresses (ZMap's -m)")
    out.add_argument(*_names("--status-updates-file"), dest="status_updates_file", metavar="FILE",
                     help="write the progress line's fields to FILE as CSV, one row a second "
                          "(ZMap's -u)")
    out.add_argument(*_names("--quiet", "-q"), dest="quiet", action="store_true",
                     help="no start-up lines and no progress line on stderr")
    out.add_argument(*_names("d", "--debug"), dest="debug", action="store_true",
                     help="debug lines on stderr")

    hs = p.add_argument_group("handshakes and fingerprinting")
    hs.add_argument(*_names("handshakes"), metavar="LIST",
                    help="comma-separated handshakes in attempt order, or 'all' "
                         f"(default {_default('handshakes')})")
    hs.add_argument(*_names("priorityFingerprint"), dest="priority", metavar="LIST",
                    help="names preferred when several fingerprint rules match")
    hs.add_argument(*_names("forceAllHandshakes"), dest="force_all", action="store_true",
                    help="try every handshake even after data (sets -haf 0)")
    hs.add_argument(*_names("pushDataOnly"), dest="push_data_only", action="store_true",
                    help="complete the handshake with a pure ACK; send the probe only when retransmitting")
    hs.add_argument(*_names("haf"), type=int, metavar="N",
                    help="random closed ports probed to find ACKing firewalls; 0 = off "
                         f"(default {_default('haf')})")
    hs.add_argument(*_names("hafThreshold"), dest="haf_threshold", type=float, metavar="F",
                    help="fraction of -haf probes that must answer, in [0,1] "
                         f"(default {_default('haf_threshold')})")
    hs.add_argument(*_names("--compat"), dest="compat", action="store_true",
                    help="stop at the first data as LZR does (no going on after unknown data)")
    hs.add_argument(*_names("--parallel"), dest="parallel", type=int, metavar="N",
                    help=f"handshakes of one target in flight at once (default {_default('parallel')}); "
                         "--compat runs one at a time")
    hs.add_argument(*_names("--per-host-limit"), dest="per_host_limit", type=int, metavar="N",
                    help="concurrent connections to one address (default: --parallel)")
    hs.add_argument(*_names("--host-rate"), dest="host_rate", type=float, metavar="R",
                    help=f"extra connections started per second to one address "
                         f"(default {_default('host_rate')}; 0 = no limit)")

    timing = p.add_argument_group("timing")
    timing.add_argument(*_names("t", "--timeout"), dest="timeout", type=float, metavar="S",
                        help=f"seconds to wait for an answer (default {_default('timeout')})")
    timing.add_argument(*_names("rt", "--retransmit-after"), dest="retransmit_after", type=float,
                        metavar="S", help="seconds before the first retransmission "
                                          f"(default {_default('retransmit_after')})")
    timing.add_argument(*_names("rn", "--retries"), dest="retries", type=int, metavar="N",
                        help=f"retransmissions of a probe or SYN (default {_default('retries')})")
    timing.add_argument(*_names("c", "--cooldown"), dest="cooldown", type=float, metavar="S",
                        help="seconds to wait for late SYN-ACKs after ZMap's input ends "
                             f"(default {_default('cooldown')}); when lzr sends the SYNs each "
                             "waits -t x (-rn + 1) for its own, so only --compat waits this too")
    timing.add_argument(*_names("--target-timeout"), dest="target_timeout", type=float,
                        metavar="S", help="end a target S seconds after its first packet, "
                                          "whatever it is doing (like nmap's --host-timeout; "
                                          f"default {_default('target_timeout')} = none)")
    timing.add_argument(*_names("--silent-probes"), dest="silent_probes", type=int, metavar="N",
                        help="stop a target once N probes were ACKed and never answered and a "
                             "banner was waited for: faster on silent ports, but misses "
                             "services silent to other protocols' probes "
                             f"(default {_default('silent_probes')} = never)")
    timing.add_argument(*_names("rate"), type=int, metavar="N",
                        help=f"new targets per second when sending SYNs (default {_default('rate')})")
    timing.add_argument(*_names("w", "--workers"), dest="workers", type=int, metavar="K",
                        help="worker processes (default: number of cores)")
    timing.add_argument(*_names("--senders"), dest="senders", type=int, metavar="K",
                        help="range scans: processes sending the SYNs, like zmap -T "
                             f"(default {_default('senders')})")
    timing.add_argument(*_names("--max-in-flight"), dest="max_in_flight", type=int, metavar="N",
                        help="targets with handshakes running at once; new targets wait "
                             "(default: a quarter of the free memory at 2 KiB a target)")

    inp = p.add_argument_group("input")
    inp.add_argument(*_names("sendSYNs"), dest="send_syns", action="store_true",
                     help="read IP;PORT (or IP:PORT, [v6]:PORT) lines and send the SYNs")
    inp.add_argument(*_names("dryrun"), action="store_true",
                     help="read `zmap --dryrun` output and send the SYNs (implies -sendSYNs); "
                          "unlike ZMap's --dryrun this sends packets: --print-targets is the "
                          "mode that sends nothing")
    inp.add_argument(*_names("--input-format"), dest="input_format",
                     choices=config_module.INPUT_FORMATS, help="ZMap input: json, csv or auto")
    inp.add_argument(*_names("--strict"), dest="strict", action="store_true",
                     help="abort on the first malformed input line instead of skipping it")
    inp.add_argument(*_names("--targets"), dest="targets", metavar="CIDRS",
                     help="scan these addresses/CIDRs (comma-separated) instead of reading stdin")
    inp.add_argument(*_names("--ports"), dest="ports", metavar="LIST",
                     help="ports for --targets, e.g. 80,443,8000-8100")
    inp.add_argument(*_names("--seed"), dest="seed", type=int, metavar="N",
                     help="permutation seed; the same seed on every machine of a sharded scan")
    inp.add_argument(*_names("--shards"), dest="shards", type=int, metavar="N",
                     help="split the target space into N slices (ZMap's meaning)")
    inp.add_argument(*_names("--shard"), dest="shard", type=int, metavar="I",
                     help="the slice this run scans, 0-based")
    inp.add_argument(*_names("--max-targets"), dest="max_targets", type=int, metavar="N",
                     help="stop after N targets of this shard")
    inp.add_argument(*_names("--checkpoint"), dest="checkpoint", metavar="FILE",
                     help="range scans: record progress in FILE and resume from it")
    inp.add_argument(*_names("--print-targets"), dest="print_targets", action="store_true",
                     help="print the targets this run would scan (IP;PORT) and send nothing "
                          "(what ZMap's --dryrun is for)")
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
    low, high = ScanConfig.source_ports
    net.add_argument(*_names("--source-ports"), dest="source_ports", metavar="LO-HI",
                     help=f"local ports of our connections (default {low}-{high})")
    net.add_argument(*_names("--rst-guard"), dest="rst_guard", choices=config_module.RST_GUARD_MODES,
                     help="how the kernel's RSTs are suppressed (default source-ports)")
    net.add_argument(*_names("--user"), dest="user", metavar="USER",
                     help="after setup, the processes that parse packets and input run as USER "
                          "with no capabilities (default nobody; root keeps them privileged)")

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


def parse_args(argv: list[str]) -> ScanConfig:
    """Flags -> validated ScanConfig; raises UsageError (argparse errors exit 2 itself)."""
    parser = build_parser()
    given = vars(parser.parse_args(_go_bools(argv, _bool_flags(parser))))
    cfg = ScanConfig.from_flags({**given, "command_line": tuple(argv)})
    for note in cfg.notes(given):
        print(f"lzr: {note}", file=sys.stderr)
    return cfg


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in subcommands.SUBCOMMANDS:
        return subcommands.main(argv)
    if argv and argv[0] == "analyze":
        from lzr.analyze.cli import main as analyze
        return analyze(argv[1:])
    try:
        cfg = parse_args(argv)
        return _scan(cfg)
    except UsageError as err:
        print(f"lzr: {err}\n(see lzr --help)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:   # Ctrl-C before the scan's own handler is in place
        return EXIT_INTERRUPTED


def _scan(cfg: ScanConfig) -> int:
    """The scan, once its runtime (numpy, ZeroMQ) has loaded. A Ctrl-C or SIGTERM during the
    load waits for its end, then ends the command as an interrupt: numpy turns an interrupt
    inside its import into an ImportError."""
    held: list[int] = []
    previous = {signum: signal.signal(signum, lambda received, _frame: held.append(received))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        from lzr.runtime.scan import run
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return EXIT_INTERRUPTED if held else run(cfg)


if __name__ == "__main__":
    sys.exit(main())
