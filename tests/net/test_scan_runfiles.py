"""--metadata-file and --status-updates-file of a real scan, in namespaces this test makes."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

import lzr
from lzr.runtime.runfiles import STATUS_COLUMNS
from lzr_sim.demo import CLOSED_PORT, HTTP_PORT, SILENT_PORT, SSH_PORT, TLS_PORT, TargetServices
from lzr_sim.lab import NetnsLab

PORTS = (HTTP_PORT, TLS_PORT, SSH_PORT, CLOSED_PORT, SILENT_PORT)


def summary_counters(stderr: str) -> dict:
    return json.loads(next(line for line in stderr.splitlines() if line.startswith('{"TotalResponses"')))


@pytest.mark.netns
def test_metadata_and_status_files_of_a_scan():
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, target = lab.add_host("runf"), lab.add_host("runft")
        scan_if, target_if = lab.link(scanner, target, "10.233.0.1/24", "10.233.0.2/24")
        metadata_path, status_path = Path(tmp, "scan.meta.json"), Path(tmp, "scan.status.csv")
        gateway_mac = target.mac(target_if)
        flags = ["-sendSYNs", "-handshakes", "wait,http,tls", "-f", str(Path(tmp, "out.json")),
                 "-sendInterface", scan_if, "-gatewayMac", gateway_mac, "-w", "1",
                 "-t", "1", "-rt", "1", "--quiet", "--allow-reserved",
                 "--metadata-file", str(metadata_path), "--status-updates-file", str(status_path)]
        ip = target.address()
        with TargetServices(target):
            result = subprocess.run(
                ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli", *flags],
                input="".join(f"{ip};{port}\n" for port in PORTS), capture_output=True,
                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        metadata = json.loads(metadata_path.read_text())
        with status_path.open(newline="") as fh:
            rows = list(csv.reader(fh))

    assert metadata["lzr_version"] == lzr.__version__
    assert metadata["command_line"] == flags
    assert metadata["flags"]["handshakes"] == ["wait", "http", "tls"]
    assert metadata["flags"]["send_syns"] is True and metadata["flags"]["timeout"] == 1.0
    started = datetime.fromisoformat(metadata["start_time"])
    ended = datetime.fromisoformat(metadata["end_time"])
    assert started.tzinfo is not None and 1.5 < (ended - started).total_seconds() < 60
    assert metadata["duration_seconds"] == pytest.approx((ended - started).total_seconds(), abs=0.01)
    assert (metadata["exit_status"], metadata["completed"]) == (0, True)
    assert (metadata["interface"], metadata["source_address"], metadata["gateway_mac"]) == (
        scan_if, "10.233.0.1", gateway_mac)
    # The summary's counters, exactly as printed on stderr, and one count per label.
    assert metadata["summary"] == summary_counters(result.stderr)
    assert metadata["summary"]["TotalResponses"] == len(PORTS)
    assert metadata["labels"] == {"http": 1, "tls": 1, "ssh": 1, "unknown": 2}
    # How each target ended: the closed port's RST answers our SYN; the silent one never does.
    assert metadata["outcomes"] == {"identified": 3, "closed": 1, "no-synack": 1}
    assert metadata["records_written"] == len(PORTS) and metadata["targets"] == len(PORTS)
    assert metadata["packets_sent"] >= len(PORTS) and metadata["identified"] == 3
    assert metadata["input"] == {"lines": len(PORTS), "targets": len(PORTS), "malformed": 0,
                                 "blocked": 0}
    rates = metadata["rates"]
    assert rates["rate_limit_targets_per_second"] == 10000
    assert rates["records_per_second"] == pytest.approx(len(PORTS) / metadata["duration_seconds"],
                                                        rel=0.05)

    header, body = rows[0], rows[1:]
    assert tuple(header) == STATUS_COLUMNS
    assert len(body) >= 2           # once a second (the scan lasts 2 s or more), and the last
    status = [dict(zip(header, row)) for row in body]
    times = [datetime.fromisoformat(row["real-time"]) for row in status]
    assert times == sorted(times) and started <= times[0] and times[-1] <= ended
    for row in status:
        for column in ("sent-total", "targets", "synacks", "data", "identified", "in-flight",
                       "written"):
            assert int(row[column]) >= 0
        assert float(row["time-elapsed"]) >= 0 and float(row["sent-last-one-sec"]) >= 0
        assert row["time-remaining"] == "" or float(row["time-remaining"]) >= 0
    sent = [int(row["sent-total"]) for row in status]
    assert sent == sorted(sent) and sent[-1] == metadata["packets_sent"]
    assert (int(status[-1]["written"]), int(status[-1]["in-flight"])) == (len(PORTS), 0)
