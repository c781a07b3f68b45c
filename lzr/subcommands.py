"""`lzr probe`, `lzr fingerprint`, `lzr handshakes`: the handshakes and rules, by hand.

Flags take Go's forms as LZR's do: `-handshakes x` or `--handshakes x`, `-x=v` or `-x v`.
"""
import argparse
import sys
from typing import Sequence

from lzr.argparsing import ExactArgumentParser
from lzr.fingerprint import fingerprint
from lzr.handshakes import LZR_NAMES, REGISTRY, UnknownHandshake, get, parse_list
from lzr.relabel import relabel_records

USAGE_ERROR = 2
SUBCOMMANDS = ("probe", "fingerprint", "handshakes")


def _flag(parser: argparse.ArgumentParser, name: str, **options) -> None:
    parser.add_argument(f"-{name}", f"--{name}", **options)


def _parser() -> argparse.ArgumentParser:
    parser = ExactArgumentParser(
        prog="lzr",
        description="Look at LZR's handshakes and rules without scanning.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    probe = commands.add_parser(
        "probe", help="write a handshake's probe bytes to stdout",
        description="Write the raw bytes a handshake sends with its ACK to stdout "
        "(empty for server-first handshakes). Example: lzr probe http --target 1.2.3.4 | xxd",
    )
    probe.add_argument("name", help="handshake name (see `lzr handshakes`)")
    _flag(probe, "target", default="127.0.0.1", metavar="ADDR",
          help="target address for probes that name it, e.g. HTTP's Host (default 127.0.0.1)")

    label = commands.add_parser(
        "fingerprint", help="name one response read from stdin, or relabel records",
        description="Read one response from stdin and print the label LZR's rules give it. "
        "Example: printf 'SSH-2.0-OpenSSH_9.2\\r\\n' | lzr fingerprint (prints ssh). "
        "With --records, relabel LZR records (ours or LZR's, plain or gzip) with today's rules: "
        "each record goes to stdout with its new label, the old one in fingerprintBefore when "
        "they differ; a summary of the changes goes to stderr. Example: "
        "lzr fingerprint --records scan.json.gz -handshakes http,tls | gzip > relabelled.json.gz",
    )
    _flag(label, "handshakes", default="http", metavar="LIST",
          help="the handshakes the scan would request, which break ties (default http)")
    _flag(label, "priorityFingerprint", default="", metavar="LIST",
          help="names that break ties first; replaces -handshakes for that when given")
    _flag(label, "hex", action="store_true", help="stdin is hex text (spaces and newlines ignored)")
    _flag(label, "compat", action="store_true",
          help="LZR's rules where ours name more right (rdp, siemens; docs/lzr-differences.md)")
    _flag(label, "records", metavar="FILE",
          help="relabel the LZR records of FILE ('-' is stdin): dataBase64 when a record has it "
               "(--extended), else the lossy data string")

    commands.add_parser(
        "handshakes", help="list every handshake",
        description="List every handshake: name, who speaks first, origin, description.",
    )
    return parser


def _probe(args: argparse.Namespace) -> int:
    sys.stdout.buffer.write(get(args.name).probe(args.target))
    sys.stdout.buffer.flush()
    return 0


def _read_response(as_hex: bool) -> bytes:
    raw = sys.stdin.buffer.read()
    if not as_hex:
        return raw
    return bytes.fromhex("".join(raw.decode("ascii").split()))


def _fingerprint(args: argparse.Namespace) -> int:
    requested = parse_list(args.handshakes)
    priority = parse_list(args.priorityFingerprint) if args.priorityFingerprint else requested
    if args.records is not None:
        return _relabel(args, priority)
    try:
        data = _read_response(args.hex)
    except ValueError as error:
        print(f"lzr fingerprint: stdin is not hex: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(fingerprint(data, priority, args.compat))
    return 0


def _relabel(args: argparse.Namespace, priority: Sequence[str]) -> int:
    if args.hex:
        print("lzr fingerprint: -hex reads one response; --records reads JSON lines", file=sys.stderr)
        return USAGE_ERROR
    try:
        counts = relabel_records(args.records, priority, sys.stdout.buffer, args.compat)
    except (OSError, EOFError) as error:     # unreadable file, or gzip cut short
        print(f"lzr fingerprint: {args.records}: {getattr(error, 'strerror', None) or error}",
              file=sys.stderr)
        return 1
    print(counts.format(), file=sys.stderr, end="")
    return 0


def _list() -> int:
    width = max(map(len, REGISTRY))
    for hs in REGISTRY.values():
        speaker = "server-first" if hs.server_first else "client-first"
        origin = "lzr" if hs.name in LZR_NAMES else "new"
        print(f"{hs.name:<{width}}  {speaker}  {origin:<3}  {hs.description}")
    return 0


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        if args.command == "probe":
            return _probe(args)
        if args.command == "fingerprint":
            return _fingerprint(args)
        return _list()
    except UnknownHandshake as error:
        print(f"lzr {args.command}: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        # The reader (say, `head`) went away: not an error worth a traceback.
        sys.stderr.close()
        return 0
