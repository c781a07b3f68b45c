"""A bounded end, against hosts that accept a connection on every port and never say a word,
under -handshakes all (about 40 handshakes a target, each waiting out its timeouts):

* the ETA counts the connections queued at each address, not only the targets left to send;
* --max-in-flight holds the targets with handshakes running under the cap;
* Ctrl-C ends the scan within -t x (-rn + 1) and a small grace, every target with its record;
* a second Ctrl-C ends it at once, every target it started with a record saying it was
  interrupted.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from accepting import accept_every_port
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

SPACE = "10.242.0.0/28"
PORTS = "1-100"
TARGETS = 16 * 100
GRACE = 3.0


@contextlib.contextmanager
def scan_silent_hosts(tmp: str, *flags: str):
    """A lab whose target accepts on every port of SPACE and a scan of it that has started;
    yields (the scan, its output file, its status file)."""
    with NetnsLab() as lab:
        yield from _scan(lab, tmp, flags)


def _scan(lab, tmp: str, flags):
    scanner, target = lab.add_host("bnd"), lab.add_host("bndt")
    scan_if, target_if = lab.link(scanner, target, "10.242.1.1/24", "10.242.1.2/24")
    accept_every_port(target, SPACE)
    output, status = os.path.join(tmp, "out.json"), os.path.join(tmp, "status.csv")
    scan = subprocess.Popen(
        ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli", "--targets",
         SPACE, "--ports", PORTS, "-handshakes", "all", "-haf", "0", "-t", "1", "-rn", "1",
         "-rate", "2000", "--extended", "-f", output, "--status-updates-file", status,
         "--allow-reserved", "-sendInterface", scan_if, "-gatewayMac", target.mac(target_if),
         *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield scan, output, status
    finally:
        if scan.poll() is None:
            scan.kill()


def interrupt(scan: subprocess.Popen, count: int) -> tuple[str, float]:
    """Ctrl-C `count` times; (stderr, seconds from the last Ctrl-C to the end)."""
    for number in range(count):
        if number:
            time.sleep(0.2)
        scan.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    _, err = scan.communicate(timeout=60)
    return err, time.monotonic() - signalled


def records_of(path: str) -> list[dict]:
    with open(path) as fh:
        return [json.loads(line) for line in fh]


def status_rows(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_ctrl_c_ends_within_the_bound_the_eta_counts_queues_and_the_cap_holds():
    with tempfile.TemporaryDirectory() as tmp:
        with scan_silent_hosts(tmp, "--max-in-flight", "400") as (scan, output, status):
            time.sleep(6)
            err, took = interrupt(scan, 1)
        assert scan.returncode == 130, err
        records, rows = records_of(output), status_rows(status)
    assert took < 1 * (1 + 1) + GRACE, took
    # Every target answered, so every one the scan took up has its record.
    started = int(rows[-1]["targets"])
    assert len(records) == len({(r["saddr"], r["sport"]) for r in records}) == started
    assert "interrupted" not in {r["outcome"] for r in records}
    # The queues at the 16 addresses hold minutes of connection starts (at 20 a second).
    assert max(float(row["time-remaining"] or 0) for row in rows) > 60
    assert max(int(row["in-flight"]) for row in rows) <= 400 * 1.25


def test_a_second_ctrl_c_ends_every_started_target_at_once_with_a_record():
    with tempfile.TemporaryDirectory() as tmp:
        with scan_silent_hosts(tmp) as (scan, output, status):
            time.sleep(5)
            err, took = interrupt(scan, 2)
        assert scan.returncode == 130, err
        records, rows = records_of(output), status_rows(status)
    assert took < GRACE, took
    assert len(records) == len({(r["saddr"], r["sport"]) for r in records}) == int(
        rows[-1]["targets"])
    assert "interrupted" in {r["outcome"] for r in records}
