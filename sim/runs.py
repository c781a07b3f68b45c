"""Run state: what `lzr-sim scan/down` and the next `up` need to know about a run.

Each run has a directory `<run root>/<run id>/` holding `state.json`, written before anything
of the run exists: the owning process (pid and start time), the scanner's namespace and
addresses, and every process started inside the network. A run whose owner died is found
there and removed by the next `up` or `down` (`cleanup_stale`); its links are found by the
run id that starts their names.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lzr_sim.errors import HarnessError
from lzr.runtime.process_identity import is_alive
from lzr_sim.processes import stop_processes

RUN_ROOT_ENV = "LZR_SIM_RUN_DIR"
STATE_FILE = "state.json"
DAEMONS_DIRECTORY = "daemons"   # <run dir>/daemons/<node>/<protocol>-<port>/: a real daemon's files


def run_root() -> Path:
    """Where run directories live: $LZR_SIM_RUN_DIR, else lzr-sim under the temp directory."""
    return Path(os.environ.get(RUN_ROOT_ENV) or Path(tempfile.gettempdir()) / "lzr-sim")


@dataclass
class RunState:
    """The contents of a run's state.json."""
    run_id: str
    owner_pid: int
    owner_start: int | None
    directory: str
    topology: str = ""
    scanner: dict | None = None       # pid (of its shell), start, address, interface, gateway_mac
    processes: list | None = None     # [pid, start] of everything started inside the network
    nodes: dict | None = None         # node name (h1, p1, sc, rt) -> pid of its shell
    ready: bool = False

    @property
    def path(self) -> Path:
        return Path(self.directory) / STATE_FILE

    def save(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.__dict__, indent=1) + "\n")
        temporary.replace(self.path)

    @classmethod
    def load(cls, directory: Path) -> "RunState":
        return cls(**json.loads((directory / STATE_FILE).read_text()))

    def owner_alive(self) -> bool:
        return is_alive(self.owner_pid, self.owner_start)


def list_runs(root: Path | None = None) -> list[RunState]:
    root = root or run_root()
    runs = []
    for state_file in sorted(root.glob(f"*/{STATE_FILE}")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            runs.append(RunState.load(state_file.parent))
    return runs


def run_links(run_id: str) -> list[str]:
    """Root-namespace links and bridges whose name starts with the run id."""
    output = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = []
    for line in output.splitlines():
        parts = line.split(": ", 2)
        if len(parts) >= 2:
            name = parts[1].split("@")[0]
            if name.startswith(run_id):
                names.append(name)
    return names


def delete_links(run_id: str) -> None:
    # Bridges first (deleting a bridge frees its ports), then whatever veth ends remain.
    for name in sorted(run_links(run_id), key=lambda n: "-eth" in n):
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def daemon_processes(directory: Path) -> list[tuple[int, int | None]]:
    """(pid, start time) of the real daemons a run's service runners started and have not
    stopped yet: each runner writes them into the daemon's directory (lzr_sim.daemons)."""
    found = []
    for pid_file in directory.glob(f"{DAEMONS_DIRECTORY}/*/*/pid"):
        with contextlib.suppress(OSError, ValueError):
            pid, start = pid_file.read_text().split()
            found.append((int(pid), int(start) if start != "None" else None))
    return found


def remove_run(state: RunState) -> None:
    """Remove everything of a run whose owner is gone: processes, links, its state file."""
    processes = [tuple(p) for p in state.processes or []]
    if state.scanner:
        processes.append((state.scanner["pid"], state.scanner.get("start")))
    processes += daemon_processes(Path(state.directory))
    stop_processes(processes, grace=0.5)
    delete_links(state.run_id)
    with contextlib.suppress(FileNotFoundError):
        state.path.unlink()


def cleanup_stale(root: Path | None = None) -> list[str]:
    """Remove the leftovers of every run whose owning process died; returns their run ids."""
    removed = []
    for state in list_runs(root):
        if not state.owner_alive():
            remove_run(state)
            removed.append(state.run_id)
    return removed


def stop_run(state: RunState, wait: float = 60.0) -> None:
    """Ask the owner of a run to tear it down; remove what is left if it does not."""
    if state.owner_alive():
        os.kill(state.owner_pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while state.owner_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
    if state.owner_alive():
        raise HarnessError(f"run {state.run_id}: owner {state.owner_pid} did not stop within {wait:.0f} s")
    remove_run(state)
