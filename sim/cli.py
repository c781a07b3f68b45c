"""`lzr-sim`: bring up an emulated population, scan it with `lzr`, report accuracy, tear down.

    lzr-sim up --profile unexpected --hosts 30 --seed 1     # runs until `down` or Ctrl-C
    lzr-sim scan [--run ID] [-- LZR FLAGS]                  # in another terminal
    lzr-sim report [--run ID] [--png DIR]
    lzr-sim exec [--run ID] [--node sc] -- COMMAND          # e.g. zmap, curl, ss in a node
    lzr-sim down [--run ID]
    lzr-sim run --profile unexpected --hosts 30             # all of the above in one go
    lzr-sim list                                            # runs and whether they are live

Without `-handshakes` among the lzr flags, a scan uses wait, http and tls plus the handshakes
the population needs (lzr_sim.population.needed_handshakes), and without `-haf` it sends 3
ACKing-firewall probes when the population has ACKing firewalls. docs/sim.md has the details.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lzr.argparsing import ExactArgumentParser, add_version
from lzr_sim import runs
from lzr_sim.errors import HarnessError
from lzr_sim.extras import missing_extra, require
from lzr_sim.flags import handshakes_of, lzr_flags_for
from lzr_sim.manifest import Manifest, ManifestError
from lzr_sim.network import SimNetwork
from lzr_sim.population import PROFILES, Options, daemon_tier, generate
from lzr_sim.processes import in_namespace
from lzr_sim.report import draw, evaluate, load_records
from lzr_sim.scanner import run_scan

DEFAULT_PROFILE, DEFAULT_HOSTS, DEFAULT_SEED = "unexpected", 30, 1
DAEMON_PROFILE = "daemons"


class CliError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def _population_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("population (or --manifest)")
    group.add_argument("--manifest", type=Path, help="build this manifest instead of generating one")
    group.add_argument("--profile", choices=sorted([*PROFILES, DAEMON_PROFILE]), default=DEFAULT_PROFILE,
                       help="; ".join([*(f"{name}: {p.description}" for name, p in sorted(PROFILES.items())),
                                       f"{DAEMON_PROFILE}: the real-daemon tier, one Debian daemon per host on a "
                                       "random high port, and the hard cases (an ACKing firewall, silent, "
                                       "reset, closed and filtered ports); a fixed population, so no --hosts, "
                                       "--topology or --no-hard-cases"]))
    group.add_argument("--hosts", type=int, help=f"number of target hosts (default {DEFAULT_HOSTS})")
    group.add_argument("--seed", type=int, default=DEFAULT_SEED)
    group.add_argument("--topology", choices=("routed", "sparse", "lan"), default="routed")
    group.add_argument("--no-hard-cases", action="store_true",
                       help="no zero-window, ACKing-firewall, RST, no-ACK or slow-banner targets")
    group.add_argument("--delay", type=float, default=0.0, metavar="MS",
                       help="delay every packet a target host sends by MS milliseconds")
    group.add_argument("--loss", type=float, default=0.0, metavar="P",
                       help="drop this fraction of packets at every target host")
    group.add_argument("--save-manifest", type=Path, metavar="FILE", help="also write the manifest here")


def _scan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=600.0, help="give up on the scan after S seconds")
    parser.add_argument("lzr_flags", nargs=argparse.REMAINDER,
                        help="flags for lzr after `--` (e.g. -- -handshakes wait,http,tls -haf 3)")


def _parser() -> argparse.ArgumentParser:
    parser = ExactArgumentParser(prog="lzr-sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version(parser)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="build and start a population; runs until down or Ctrl-C")
    _population_arguments(up)

    scan = commands.add_parser("scan", help="run lzr in the scanner host of a running `up`")
    scan.add_argument("--run", help="run id (default: the only live run)")
    scan.add_argument("-o", "--output", type=Path, help="records file (default: in the run directory)")
    _scan_arguments(scan)

    report = commands.add_parser("report", help="a scan's records against the manifest, as Markdown")
    report.add_argument("--run", help="run id, live or finished (default: the latest run)")
    report.add_argument("--manifest", type=Path, help="manifest file (instead of --run)")
    report.add_argument("--records", type=Path, help="records file (default: the run's last scan)")
    report.add_argument("--handshakes", help="the scan's handshake order (default: from the scan)")
    report.add_argument("--png", type=Path, metavar="DIR", help="also draw the plots into DIR")

    run_in = commands.add_parser("exec", help="run a command inside a node of a running `up`")
    run_in.add_argument("--run", help="run id (default: the only live run)")
    run_in.add_argument("--node", default="sc", help="sc (scanner, default), rt (router), h1, p1, ...")
    run_in.add_argument("command_argv", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                        help="the command and its arguments, after `--`")

    down = commands.add_parser("down", help="stop a run started with `up`")
    down.add_argument("--run", help="run id (default: the only live run)")
    down.add_argument("--all", action="store_true", help="every run of this run root")

    run = commands.add_parser("run", help="up + scan + report + down")
    _population_arguments(run)
    run.add_argument("--png", type=Path, metavar="DIR", help="also draw the plots into DIR")
    run.add_argument("--records", type=Path, metavar="FILE",
                     help="keep the scan's records here (the run's own folder is removed at the end)")
    run.add_argument("--show-records", type=int, default=0, metavar="N",
                     help="print the records of N labels (the first record of each) before the report")
    _scan_arguments(run)

    commands.add_parser("list", help="runs of this run root and whether they are live")
    return parser


def _manifest(args) -> Manifest:
    if args.manifest:
        try:
            return Manifest.load(args.manifest)
        except (OSError, ValueError, ManifestError) as error:
            raise CliError(f"--manifest {args.manifest}: {error}") from None
    if args.profile == DAEMON_PROFILE:
        if args.hosts is not None or args.no_hard_cases or args.topology != "routed":
            raise CliError(f"--profile {DAEMON_PROFILE} is a fixed population: --hosts, --topology and "
                           "--no-hard-cases do not apply")
        manifest = daemon_tier(args.seed)
        if args.save_manifest:
            manifest.save(args.save_manifest)
        return manifest
    options = Options(topology=args.topology)
    if args.no_hard_cases:
        options = Options(topology=args.topology, host_hard_cases={}, service_hard_cases={})
    try:
        manifest = generate(args.profile, args.hosts or DEFAULT_HOSTS, args.seed, options)
    except ValueError as error:
        raise CliError(str(error)) from None
    if args.save_manifest:
        manifest.save(args.save_manifest)
    return manifest


def _lzr_flags(args, manifest: Manifest) -> list[str]:
    return lzr_flags_for(manifest, [flag for flag in args.lzr_flags if flag != "--"])


def _select_run(run_id: str | None) -> runs.RunState:
    """The live run `run_id`, or the only live run when no id is given."""
    live = [state for state in runs.list_runs() if state.owner_alive()]
    if run_id:
        for state in live:
            if state.run_id == run_id:
                return state
        raise CliError(f"no live run {run_id!r} under {runs.run_root()}")
    if not live:
        raise CliError(f"no live run under {runs.run_root()}; start one with `lzr-sim up`")
    if len(live) > 1:
        found = ", ".join(state.run_id for state in live)
        raise CliError(f"{len(live)} live runs ({found}); say which with --run")
    return live[0]


def _write_scan_meta(output: Path, flags: list[str]) -> None:
    meta = {"flags": flags, "handshakes": handshakes_of(flags)}
    output.with_suffix(".meta.json").write_text(json.dumps(meta) + "\n")


def command_up(args) -> int:
    require("mininet.net")
    manifest = _manifest(args)
    started = time.monotonic()
    with SimNetwork(manifest, loss=args.loss, delay_ms=args.delay, quiet=True) as net:
        print(net.describe())
        print(f"up in {time.monotonic() - started:.1f} s; "
              f"scan: lzr-sim scan --run {net.run_id} [-- LZR FLAGS]; stop: lzr-sim down --run {net.run_id} "
              "or Ctrl-C", flush=True)
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            print("stopping ...", file=sys.stderr, flush=True)
    return 0


def command_scan(args) -> int:
    state = _select_run(args.run)
    if not state.ready:
        raise CliError(f"run {state.run_id} is still starting")
    directory = Path(state.directory)
    manifest = Manifest.load(directory / "manifest.json")
    flags = _lzr_flags(args, manifest)
    output = args.output or directory / f"scan-{time.strftime('%Y%m%d-%H%M%S')}.json"
    targets = [(address, port) for address, port, _ in manifest.targets()]
    started = time.monotonic()
    records = run_scan(state.scanner, targets, flags, output, args.timeout, run_directory=directory)
    _write_scan_meta(output, flags)
    print(f"{len(records)} records in {time.monotonic() - started:.1f} s -> {output}")
    return 0


def _last_scan(directory: Path) -> Path:
    scans = sorted(p for p in directory.glob("scan-*.json") if not p.name.endswith(".meta.json"))
    if not scans:
        raise CliError(f"no scan in {directory}; run `lzr-sim scan` first or give --records")
    return max(scans, key=lambda p: p.stat().st_mtime)


def command_report(args) -> int:
    if args.png:
        require("matplotlib")
    if args.manifest:
        manifest = Manifest.load(args.manifest)
        if not args.records:
            raise CliError("--manifest needs --records")
        records_path = args.records
    else:
        directory = runs.run_root() / args.run if args.run else _latest_run_directory()
        if not (directory / "manifest.json").exists():
            raise CliError(f"no run {args.run!r} under {runs.run_root()}")
        manifest = Manifest.load(directory / "manifest.json")
        records_path = args.records or _last_scan(directory)
    meta_path = records_path.with_suffix(".meta.json")
    if args.handshakes:
        handshakes = args.handshakes.split(",")
    elif meta_path.exists():
        handshakes = json.loads(meta_path.read_text())["handshakes"]
    else:
        handshakes = []
    report = evaluate(manifest, load_records(records_path), handshakes)
    print(report.markdown())
    if args.png:
        for path in draw(report, args.png):
            print(f"plot: {path}", file=sys.stderr)
    return 0


def _latest_run_directory() -> Path:
    root = runs.run_root()
    candidates = [p.parent for p in root.glob("*/manifest.json")] if root.exists() else []
    if not candidates:
        raise CliError(f"no run under {root}; give --manifest and --records")
    return max(candidates, key=lambda p: p.stat().st_mtime)


def command_exec(args) -> int:
    state = _select_run(args.run)
    argv = args.command_argv[1:] if args.command_argv[:1] == ["--"] else args.command_argv
    if not argv:
        raise CliError("give the command after `--`, e.g. lzr-sim exec --node h1 -- ss -ltn")
    if args.node not in (state.nodes or {}):
        raise CliError(f"no node {args.node!r} in run {state.run_id}; nodes: {', '.join(sorted(state.nodes or {}))}")
    return subprocess.run(in_namespace(state.nodes[args.node], argv)).returncode


def command_down(args) -> int:
    runs.cleanup_stale()
    states = [s for s in runs.list_runs() if s.owner_alive()] if args.all else [_select_run(args.run)]
    for state in states:
        runs.stop_run(state)
        print(f"run {state.run_id} stopped")
    return 0


def command_run(args) -> int:
    require("mininet.net", *(["matplotlib"] if args.png else []))
    manifest = _manifest(args)
    flags = _lzr_flags(args, manifest)
    started = time.monotonic()
    with SimNetwork(manifest, loss=args.loss, delay_ms=args.delay) as net:
        up_seconds = time.monotonic() - started
        output = args.records or net.directory / "scan-1.json"
        scan_started = time.monotonic()
        records = net.scan(flags, output=output, timeout=args.timeout)
        _write_scan_meta(Path(output), flags)
        scan_seconds = time.monotonic() - scan_started
    report = evaluate(manifest, records, handshakes_of(flags))
    print(f"lzr-sim run: {manifest.profile} population, seed {manifest.seed}, {len(manifest.hosts)} hosts, "
          f"{len(manifest.targets())} targets; up {up_seconds:.1f} s, scan {scan_seconds:.1f} s, "
          f"total {time.monotonic() - started:.1f} s\n")
    print(f"lzr flags: `{' '.join(flags)}`\n")
    if args.show_records > 0:
        print(_sample_records(Path(output), args.show_records))
    print(report.markdown())
    if args.png:
        for path in draw(report, args.png):
            print(f"plot: {path}", file=sys.stderr)
    # All of it was printed (--records and --save-manifest keep files elsewhere); a run that
    # failed keeps its folder, logs included.
    shutil.rmtree(net.directory, ignore_errors=True)
    return 0


def _sample_records(path: Path, labels: int) -> str:
    """The first record of each of the first `labels` labels, as lzr wrote them."""
    chosen: dict[str, str] = {}
    for line in path.read_text().splitlines():
        label = json.loads(line).get("fingerprint", "") if line.strip() else ""
        if label and label not in chosen:
            chosen[label] = line
            if len(chosen) == labels:
                break
    lines = "\n".join(chosen.values())
    return f"# Records (the first of each of {len(chosen)} labels)\n\n```\n{lines}\n```\n"


def command_list(_args) -> int:
    states = runs.list_runs()
    if not states:
        print(f"no runs under {runs.run_root()}")
    for state in states:
        status = "live" if state.owner_alive() else "stale (removed by the next up or down)"
        print(f"{state.run_id}  owner pid {state.owner_pid}  {status}  {state.directory}")
    return 0


COMMANDS = {"up": command_up, "scan": command_scan, "report": command_report, "exec": command_exec,
            "down": command_down, "run": command_run, "list": command_list}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as error:
        print(f"lzr-sim {args.command}: {error}", file=sys.stderr)
        return 2
    except HarnessError as error:
        print(f"lzr-sim {args.command}: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        message = missing_extra(error)
        if message is None:
            raise
        print(f"lzr-sim {args.command}: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
