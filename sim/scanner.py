"""`lzr` run inside the scanner host of an emulated network, as a user runs it."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from lzr_sim.errors import HarnessError
from lzr.runtime.process_identity import start_time
from lzr_sim.processes import STOP_GRACE_SECONDS, in_namespace
from lzr_sim.runs import RunState


def lzr_command() -> list[str]:
    """The `lzr` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("lzr")
    if script.exists():
        return [str(script)]
    found = shutil.which("lzr")
    if found is None:
        raise HarnessError("the `lzr` command is not installed (pip install -e .)")
    return [found]


def scan_command(scanner: dict, flags: list[str], output: Path) -> list[str]:
    """The argv that runs `lzr` in the scanner's namespace with the lab's fixed flags first."""
    fixed = ["-sendSYNs", "-sourceIP", scanner["address"], "-sendInterface", scanner["interface"],
             "-f", str(output), "-rate", "100000", "--allow-reserved"]
    if scanner.get("gateway_mac"):
        fixed += ["-gatewayMac", scanner["gateway_mac"]]
    return in_namespace(scanner["pid"], [*lzr_command(), *fixed, *flags])


def run_scan(scanner: dict, targets: list[tuple[str, int]], flags: list[str], output: Path,
             timeout: float = 600.0, run_directory: Path | None = None) -> list[dict]:
    """Scan `targets` with `lzr` inside the scanner's namespace; returns its records.

    scanner: the run state's `scanner` entry. run_directory: when the scan runs in another
    process than the run's owner (`lzr-sim scan`), the scanner's pid goes into that run's
    state.json, so tearing the run down also stops a scan still in progress.
    """
    from lzr_sim.report import load_records

    output.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        output.unlink()  # lzr appends, as LZR does; a scan starts from an empty file
    stdin = "".join(f"{address};{port}\n" for address, port in targets)
    command = scan_command(scanner, flags, output)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    if run_directory is not None:
        state = RunState.load(run_directory)
        state.processes.append([process.pid, start_time(process.pid)])
        state.save()
    try:
        _, stderr = process.communicate(stdin, timeout=timeout)
    except BaseException:
        # Timeout or Ctrl-C: stop the whole scanner (its process group), then re-raise.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise
    if process.returncode != 0:
        raise HarnessError(f"lzr exited with {process.returncode}: {stderr.strip()[-2000:]}")
    return load_records(output) if output.exists() else []
