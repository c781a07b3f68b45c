"""Ending a scan early: Ctrl-C drains, a second Ctrl-C or SIGTERM ends every target at once
with a record that says so; either way the RST guard's rule is gone and the output holds
only whole JSON lines."""
from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from lzr_sim.demo import HTTP_PORT, SILENT_PORT, TargetServices
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns


def start_scan(scanner, scan_if: str, timeout: str) -> subprocess.Popen:
    """A scan whose stdin stays open, so only a signal can end it."""
    return subprocess.Popen(
        ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli", "-sendSYNs",
         "-f", "-", "-t", timeout, "-rt", "1", "-c", "1", "-w", "2", "--allow-reserved",
         "--extended", "-sendInterface", scan_if],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(stream, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if text in line:
            return
    raise AssertionError(f"no line with {text!r}")


def guard_rules(scanner) -> list[str]:
    rules = scanner.cmd("iptables", "-S", "OUTPUT").stdout.splitlines()
    return [rule for rule in rules if "lzr-rstguard" in rule]


@pytest.mark.parametrize("signals", [(signal.SIGINT,), (signal.SIGINT, signal.SIGINT), (signal.SIGTERM,)],
                         ids=["ctrl-c drains", "second ctrl-c interrupts", "sigterm interrupts"])
def test_signals_end_the_scan_and_remove_the_guard(signals):
    with NetnsLab() as lab:
        scanner, target = lab.add_host("sig"), lab.add_host("sigt")
        scan_if, _ = lab.link(scanner, target, "10.235.0.1/24", "10.235.0.2/24")
        with TargetServices(target):
            draining = signals == (signal.SIGINT,)
            # Exiting at once is told apart from draining by a silent target whose timeouts
            # (2 x 30 s) outlast the test's patience.
            scan = start_scan(scanner, scan_if, "2" if draining else "30")
            try:
                wait_for_line(scan.stderr, "++RST guard")
                assert guard_rules(scanner)
                scan.stdin.write(f"10.235.0.2;{HTTP_PORT}\n10.235.0.2;{SILENT_PORT}\n")
                scan.stdin.flush()
                wait_for_line(scan.stderr, "targets 2")     # both admitted (progress line)
                signalled = time.monotonic()
                for sig in signals:
                    scan.send_signal(sig)
                    time.sleep(0.1)
                out, err = scan.communicate(timeout=30)
                took = time.monotonic() - signalled
            finally:
                if scan.poll() is None:
                    scan.kill()
            assert scan.returncode == 130, err
            assert guard_rules(scanner) == []
            records = [json.loads(line) for line in out.splitlines()]   # only whole lines
            ports = {r["sport"] for r in records}
            assert ports == {HTTP_PORT, SILENT_PORT} and "TotalResponses" in err
            silent = next(r for r in records if r["sport"] == SILENT_PORT)
            if draining:    # the silent target got its final record after its timeouts
                assert silent["outcome"] == "no-synack"
            else:           # long before its 2 x 30 s were up, its record says why
                assert silent["outcome"] == "interrupted" and took < 10


def test_sigkill_leaves_no_process_and_the_next_run_removes_the_rule():
    with NetnsLab() as lab:
        scanner, target = lab.add_host("kill"), lab.add_host("killt")
        scan_if, _ = lab.link(scanner, target, "10.235.1.1/24", "10.235.1.2/24")
        scan = start_scan(scanner, scan_if, "30")
        try:
            wait_for_line(scan.stderr, "++RST guard")
            children = subprocess.run(["pgrep", "-P", str(scan.pid)], capture_output=True,
                                      text=True).stdout.split()
            assert children
            sockets = glob.glob(os.path.join(tempfile.gettempdir(), f"lzr-scan-{scan.pid}-*"))
            assert sockets
            scan.kill()
            scan.wait()
        finally:
            if scan.poll() is None:
                scan.kill()
        for pid in children:    # the workers, writer, receiver and feeder die with it
            deadline = time.monotonic() + 10
            while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not os.path.exists(f"/proc/{pid}")
        assert len(guard_rules(scanner)) == 1           # a killed run cannot clean up ...
        again = subprocess.run(
            ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli", "-sendSYNs",
             "-f", "-", "-t", "1", "-rt", "1", "-c", "0", "--quiet", "--allow-reserved",
             "-sendInterface", scan_if], input="", capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        assert guard_rules(scanner) == []               # ... the next run removes its rule
        assert not any(os.path.exists(path) for path in sockets)    # ... and its sockets


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["sigterm", "sigint", "sigkill"])
def test_a_signal_at_any_moment_of_the_start_leaves_no_rule(sig):
    """0 to 300 ms after the command starts: before the handlers, while the guard goes in,
    while the processes start. SIGKILL cannot be handled; the next run removes its rule."""
    with NetnsLab() as lab:
        scanner, target = lab.add_host("early"), lab.add_host("earlyt")
        scan_if, _ = lab.link(scanner, target, "10.235.2.1/24", "10.235.2.2/24")
        for delay in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
            scan = start_scan(scanner, scan_if, "30")
            try:
                time.sleep(delay)
                scan.send_signal(sig)
                _, err = scan.communicate(timeout=30)
            finally:
                if scan.poll() is None:
                    scan.kill()
            if sig == signal.SIGKILL:
                again = subprocess.run(
                    ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                     "-sendSYNs", "-f", "-", "-t", "1", "--quiet", "--allow-reserved",
                     "-sendInterface", scan_if], input="", capture_output=True, text=True,
                    timeout=60)
                assert again.returncode == 0, again.stderr
            elif scan.returncode == 1:
                # The interpreter itself was interrupted while it started (importing site or
                # lzr's modules, before any of lzr's code ran): Python's own exit status.
                assert (err.startswith("Fatal Python error: init_import_site")
                        or err.rstrip().endswith("KeyboardInterrupt")), (delay, err)
            else:
                # An interrupt lzr's handler saw exits 130; one before Python ran its first
                # line ends the process by the signal. Neither leaves anything to clean up.
                assert scan.returncode in (130, -sig), (delay, scan.returncode, err)
            assert guard_rules(scanner) == [], (delay, err)
