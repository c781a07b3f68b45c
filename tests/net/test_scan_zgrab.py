"""-feedZGrab as ZGrab2 takes it: one `ip,,label,port` line per named service; `unknown` only
with --feed-zgrab-unknown."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from lzr_sim.demo import CLOSED_PORT, HTTP_PORT, SSH_PORT, TargetServices
from lzr_sim.lab import NetnsLab


@pytest.mark.netns
def test_the_feed_skips_unknown_unless_asked():
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, target = lab.add_host("zgf"), lab.add_host("zgft")
        scan_if, _ = lab.link(scanner, target, "10.235.0.1/24", "10.235.0.2/24")
        ip = target.address()
        stdin = "".join(f"{ip};{port}\n" for port in (HTTP_PORT, SSH_PORT, CLOSED_PORT))
        feeds = {}
        with TargetServices(target):
            for extra in ([], ["--feed-zgrab-unknown"]):
                result = subprocess.run(
                    ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                     "-sendSYNs", "-handshakes", "wait,http", "-feedZGrab", *extra,
                     "-f", os.path.join(tmp, "records.json"), "-sendInterface", scan_if,
                     "-t", "1", "-rt", "1", "--quiet", "--allow-reserved"],
                    input=stdin, capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, result.stderr
                feeds[bool(extra)] = sorted(result.stdout.splitlines())
    assert feeds[False] == sorted([f"{ip},,http,{HTTP_PORT}", f"{ip},,ssh,{SSH_PORT}"])
    assert feeds[True] == sorted(feeds[False] + [f"{ip},,unknown,{CLOSED_PORT}"])
