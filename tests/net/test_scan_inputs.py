"""Hostile input lines cost one counted, reported malformed line each; the valid lines around
them are still scanned, and no message echoes more than the start of a line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lzr_sim.demo import HTTP_PORT, SSH_PORT, TargetServices
from lzr_sim.lab import NetnsLab

HUGE_PORT = "1" * 4301                   # one digit past Python's int conversion limit
LONG_LINE = "7" * (64 << 20)             # 64 MiB, no newline of its own
ZMAP_LINE = ('{"saddr":"192.0.2.7","daddr":"198.51.100.1","sport":8080,"dport":40000,'
             '"seqnum":1,"acknum":2,"window":65535}')


def lzr(*args: str, stdin: str | bytes, netns: str | None = None, env=None
        ) -> subprocess.CompletedProcess:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([*prefix, sys.executable, "-m", "lzr.cli", *args], input=data,
                          capture_output=True, timeout=120, env=env)


def skipped_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if line.startswith("lzr: skipped input")]


@pytest.mark.netns
def test_a_huge_port_and_a_64_mb_line_are_counted_and_the_rest_is_scanned():
    with NetnsLab() as lab:
        scanner, target = lab.add_host("inp"), lab.add_host("inpt")
        scan_if, _ = lab.link(scanner, target, "10.237.0.1/24", "10.237.0.2/24")
        stdin = (f"10.237.0.2;{HTTP_PORT}\n10.237.0.2;{HUGE_PORT}\n{LONG_LINE}\n"
                 f"10.237.0.2;{SSH_PORT}\n")
        with TargetServices(target):
            result = lzr("-sendSYNs", "-f", "-", "-t", "1", "-rt", "1", "-c", "1", "--quiet",
                         "--allow-reserved", "-sendInterface", scan_if, stdin=stdin,
                         netns=scanner.netns)
    assert result.returncode == 0, result.stderr[-2000:]
    found = {(r["sport"], r["fingerprint"]) for r in map(json.loads, result.stdout.splitlines())}
    assert found == {(HTTP_PORT, "http"), (SSH_PORT, "ssh")}
    skipped = skipped_lines(result.stderr)
    assert [line.split(":")[1] for line in skipped] == [" skipped input line 2", " skipped input line 3"]
    assert "4,301 digits" in skipped[0] and "67,108,864 bytes" in skipped[1]
    summary = json.loads(next(line for line in result.stderr.decode().splitlines()
                              if line.startswith('{"TotalResponses"')))
    assert summary["MalformedInput"] == 2
    assert len(result.stderr) < 4000, "the long line was echoed"


def test_a_junk_line_before_zmap_json_costs_one_line():
    result = lzr("--print-targets", "--allow-reserved", stdin="zmap: starting\n" + (ZMAP_LINE + "\n") * 100)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == ["192.0.2.7;8080"] * 100
    assert [line.split(":")[1] for line in skipped_lines(result.stderr)] == [" skipped input line 1"]


def test_print_targets_with_strict_ascii_streams():
    env = dict(os.environ, PYTHONIOENCODING="ascii:strict", LC_ALL="C")
    stdin = "192.0.2.1;80\n\u00e9t\u00e9 \xff\n198.51.100.9;443\n".encode("utf-8") + b"\xff\xfe\n"
    result = lzr("-sendSYNs", "--print-targets", "--allow-reserved", stdin=stdin, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [b"192.0.2.1;80", b"198.51.100.9;443"]
    assert len(skipped_lines(result.stderr)) == 2
