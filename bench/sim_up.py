"""How long the emulated network takes: `lzr-sim up` of 100 hosts (~300 services), its
teardown, the real-daemon tier's `up` and `down`, and `make demo` end to end. Prints the
figures; never fails on time.

    .venv/bin/python bench/sim_up.py [--hosts 100] [--no-daemons] [--no-demo]

Targets: up <= 30 s, `make demo` <= 2 minutes.
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_up_and_down(population: list[str], title: str) -> None:
    """`lzr-sim up POPULATION` until it prints what runs where, then `lzr-sim down`."""
    started = time.monotonic()
    up = subprocess.Popen([sys.executable, "-m", "lzr_sim.cli", "up", *population],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    run_id = None
    for line in up.stdout:
        match = re.match(r"run (\w+):", line)
        if match:
            run_id = match.group(1)
        if line.startswith("up in"):
            break
    else:
        up.wait()
        sys.exit(f"lzr-sim up failed: {up.stderr.read()[-2000:]}")
    up_seconds = time.monotonic() - started
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "lzr_sim.cli", "down", "--run", run_id], check=True,
                   capture_output=True, cwd=ROOT)
    up.wait(timeout=60)
    down_seconds = time.monotonic() - started
    print(f"lzr-sim up: {title}: {up_seconds:.1f} s")
    print(f"lzr-sim down: {down_seconds:.1f} s")


def time_demo() -> None:
    started = time.monotonic()
    result = subprocess.run(["make", "-s", "demo"], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "MAKEFLAGS": ""})
    seconds = time.monotonic() - started
    status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(f"make demo end to end: {seconds:.1f} s (target <= 120 s), {status}")
    recall = re.search(r"recall: \*\*([\d.]+%)\*\*, precision: \*\*([\d.]+%)\*\*", result.stdout)
    if recall:
        print(f"make demo report: recall {recall.group(1)}, precision {recall.group(2)}")
    if result.returncode:
        print(result.stderr[-2000:], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-daemons", action="store_true", help="skip timing the real-daemon tier")
    parser.add_argument("--no-demo", action="store_true", help="skip timing `make demo`")
    args = parser.parse_args()
    from lzr_sim.population import daemon_tier, generate
    services = len(generate("unexpected", args.hosts, args.seed).targets())
    time_up_and_down(["--hosts", str(args.hosts), "--seed", str(args.seed)],
                     f"{args.hosts} hosts, {services} services (target <= 30 s)")
    if not args.no_daemons:
        tier = daemon_tier(args.seed)
        daemons = sum(service.daemon for _, _, service in tier.targets())
        time_up_and_down(["--profile", "daemons", "--seed", str(args.seed)],
                         f"the real-daemon tier, {daemons} Debian daemons on {len(tier.hosts)} hosts")
    if not args.no_demo:
        time_demo()


if __name__ == "__main__":
    main()
