"""`lzr analyze FILE...`: the command line (flags, messages, exit status).

Exit status: 0 done (malformed lines are counted, never fatal); 1 an input was damaged (a
truncated or corrupt gzip stream; everything before the damage is in the report) or DuckDB
ran out of memory; 2 usage (a flag, a file that is not there, a missing package); 130
interrupted.
"""
import argparse
import importlib.util
import os
import re
import sys
from typing import Sequence

from lzr.argparsing import ExactArgumentParser

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_PACKAGES = {"duckdb": "duckdb", "numpy": "numpy", "matplotlib": "matplotlib"}


class _Parser(ExactArgumentParser):
    def error(self, message: str):
        self.exit(EXIT_USAGE, f"lzr analyze: {message}\n(see lzr analyze --help)\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def _memory(text: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", text.strip(), re.IGNORECASE):
        raise argparse.ArgumentTypeError(f"not a size like 1GB or 500MB: {text!r}")
    return text.strip()


def build_parser() -> argparse.ArgumentParser:
    from lzr.analyze.render import FORMATS
    parser = _Parser(
        prog="lzr analyze",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read LZR records (JSON lines, ours or LZR's, plain or gzip) and print the\n"
                    "LZR paper's tables: totals, per protocol (services, hosts, ports, share on\n"
                    "its IANA port, top ports), per port (protocol mix, share that is what IANA\n"
                    "assigns), pseudo-service hosts.",
        epilog="Examples:\n"
               "  lzr analyze scan.json\n"
               "  lzr analyze 'lzr-dataset/*.json.gz' --exclude-pseudo --out report/\n"
               "  zcat part1.gz | lzr analyze - --format json\n"
               "A real service is a record with data and RST false; a pseudo-service host has\n"
               "real services on more than 10 ports. Exit status: 0 done, 1 an input was\n"
               "damaged (truncated or corrupt gzip; what was read is reported) or DuckDB ran\n"
               "out of memory, 2 usage.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="JSON-lines files, plain or gzip, or globs ('-' is stdin)")
    parser.add_argument("--format", "-format", choices=FORMATS, default="markdown",
                        help="what to print on stdout (default markdown)")
    parser.add_argument("--out", "-out", metavar="DIR",
                        help="also write report.md, report.json, totals.csv, protocols.csv, "
                             "ports.csv and the plots coverage.png, iana-share.png into DIR")
    parser.add_argument("--exclude-pseudo", "-exclude-pseudo", action="store_true",
                        help="leave hosts with services on more than 10 ports out of every table")
    parser.add_argument("--top", "-top", type=_positive, default=10, metavar="N",
                        help="top ports listed per protocol (default 10); the Markdown "
                             "per-port table shows twice as many ports")
    parser.add_argument("--threads", "-threads", type=_positive, default=os.cpu_count() or 1,
                        metavar="N", help="cores to use (default: all)")
    parser.add_argument("--memory-limit", "-memory-limit", type=_memory, default="1GB",
                        metavar="SIZE",
                        help="DuckDB's memory before it spills to disk (default 1GB)")
    parser.add_argument("--quiet", "-quiet", "-q", action="store_true",
                        help="no progress line on stderr")
    return parser


def _missing_package(*modules: str) -> str | None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return (f"lzr analyze: needs {module}, which is not installed: "
                    f"pip install {_PACKAGES[module]}  (or pip install 'lzr[analyze]')")
    return None


def _write_out(directory: str, report, top: int) -> list[str]:
    from lzr.analyze import plots, render
    written = []
    files = {"report.md": render.markdown(report.summary, top_ports_rows=2 * top),
             "report.json": render.as_json(report.summary)}
    files.update({f"{name}.csv": text for name, text in render.csv_tables(report.summary).items()})
    for name, text in files.items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        written.append(path)
    return written + plots.write(report.summary, report.coverage, directory)


def main(argv: Sequence[str]) -> int:
    """`argv` starts after `analyze`."""
    args = build_parser().parse_args(list(argv))
    problem = _missing_package("duckdb", "numpy", *(("matplotlib",) if args.out else ()))
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE

    from lzr.analyze import render
    from lzr.analyze.run import Options, analyze, damaged
    from lzr.analyze.sources import InputError, expand
    try:
        paths = expand(args.files)
        unreadable = [path for path in paths if path != "-" and not os.access(path, os.R_OK)]
        if unreadable:
            raise InputError(f"{unreadable[0]}: permission denied")
        if args.out:
            os.makedirs(args.out, exist_ok=True)
    except (InputError, OSError) as error:
        print(f"lzr analyze: {error}", file=sys.stderr)
        return EXIT_USAGE

    options = Options(exclude_pseudo=args.exclude_pseudo, top=args.top, threads=args.threads,
                      memory_limit=args.memory_limit)
    import duckdb
    try:
        report = analyze(paths, options, progress=None if args.quiet else sys.stderr)
    except KeyboardInterrupt:
        print("lzr analyze: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except duckdb.OutOfMemoryException:
        print(f"lzr analyze: DuckDB ran out of memory within --memory-limit {args.memory_limit}; "
              "give it more (it needs a few times the 32 MB chunks at least)", file=sys.stderr)
        return EXIT_FAILED

    if args.format == "json":
        text = render.as_json(report.summary)
    elif args.format == "csv":
        text = render.as_csv(report.summary)
    else:
        text = render.markdown(report.summary, top_ports_rows=2 * args.top)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    if args.out:
        for path in _write_out(args.out, report, args.top):
            print(f"lzr analyze: wrote {path}", file=sys.stderr)

    summary = report.summary
    first = summary["malformed"]["first"]
    if first:
        print(f"lzr analyze: {summary['malformed_lines']:,} malformed lines, the first at "
              f"{first['file']} line {first['line']} ({first['problem'].replace('_', ' ')}): "
              f"{first['text']}", file=sys.stderr)
    broken = damaged(report)
    for entry in broken:
        print(f"lzr analyze: {entry['name']}: {entry['damage']}; kept its first "
              f"{entry['lines']:,} lines ({summary['records']:,} records in all)", file=sys.stderr)
    return EXIT_FAILED if broken else 0
