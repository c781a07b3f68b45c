"""The scanner as users run it (`lzr ...`), in namespaces each test makes and removes.

A scanner namespace is linked only to a target namespace (and, for ZMap, a router between
them) that runs real services from sim.demo: HTTP on 8081, TLS on 8443, an SSH banner on
2222, a closed port and a silent (iptables DROP) port. Timers are short (-t 1 -rt 1 -c 1).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

from sim.demo import CLOSED_PORT, HTTP_PORT, SILENT_PORT, SSH_PORT, TLS_PORT, TargetServices
from sim.netns import NetnsLab

pytestmark = pytest.mark.netns

FAST = ["-t", "1", "-rt", "1", "-c", "1", "--quiet", "--allow-reserved"]
PORTS = (HTTP_PORT, TLS_PORT, SSH_PORT, CLOSED_PORT, SILENT_PORT)


def lzr(host, *args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", host.netns, sys.executable, "-m", "lzr.cli", *args],
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def records(stdout: str) -> dict[int, dict]:
    out = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        assert record["sport"] not in out, f"two records for port {record['sport']}"
        out[record["sport"]] = record
    return out


def summary_counters(stderr: str) -> dict:
    return json.loads(next(line for line in stderr.splitlines() if line.startswith('{"TotalResponses"')))


@pytest.fixture
def pair():
    """(lab, scanner, target, scanner interface) with the demo services in the target."""
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        scan_if, _ = lab.link(scanner, target, "10.232.0.1/24", "10.232.0.2/24")
        with TargetServices(target):
            yield lab, scanner, target, scan_if


def check_labels(found: dict[int, dict]) -> None:
    assert set(found) == set(PORTS)
    assert found[HTTP_PORT]["fingerprint"] == "http"
    assert found[TLS_PORT]["fingerprint"] == "tls"
    assert found[SSH_PORT]["fingerprint"] == "ssh"
    assert found[CLOSED_PORT]["fingerprint"] == "unknown" and found[CLOSED_PORT]["RST"] is True
    assert found[SILENT_PORT]["fingerprint"] == "unknown"
    assert found[SILENT_PORT]["expectedRToLZR"] == "sa"


def test_own_syns_label_services_and_report_bad_lines(pair):
    _, scanner, target, scan_if = pair
    ip = target.address()
    lines = [f"{ip};{HTTP_PORT}", "not a target", f"{ip}:{TLS_PORT}", f"{ip};{SSH_PORT}",
             f"{ip};{CLOSED_PORT}", f"{ip};99999", f"{ip};{SILENT_PORT}"]
    result = lzr(scanner, "-sendSYNs", "-handshakes", "wait,http,tls", "-f", "-",
                 "-sendInterface", scan_if, "-w", "1", *FAST, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    check_labels(records(result.stdout))
    assert "line 2" in result.stderr and "line 6" in result.stderr
    counters = summary_counters(result.stderr)
    assert counters["MalformedInput"] == 2
    assert counters["TotalResponses"] == len(PORTS)


def test_two_shards_find_what_one_finds(pair):
    _, scanner, target, scan_if = pair
    ip = target.address()
    stdin = "".join(f"{ip};{port}\n" for port in PORTS)
    found = {}
    for workers in ("1", "2"):
        result = lzr(scanner, "-sendSYNs", "-handshakes", "http,tls", "-f", "-", "-w", workers,
                     "-sendInterface", scan_if, "-gatewayMac", target_mac(target), *FAST, stdin=stdin)
        assert result.returncode == 0, result.stderr
        found[workers] = {(r["saddr"], port, r["fingerprint"], r["RST"])
                          for port, r in records(result.stdout).items()}
    assert found["1"] == found["2"]
    assert len(found["1"]) == len(PORTS)


def target_mac(target) -> str:
    (ifname,) = target.interfaces
    return target.mac(ifname)
