"""--checkpoint: a range scan stopped with Ctrl-C and run again with the same file covers the
space exactly once: nothing finished is repeated, nothing is skipped."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

SPACE = "10.236.0.0/22"
PORTS = ("81", "82")


def test_checkpoint_resumes_without_repeating_or_skipping():
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, target = lab.add_host("ckpt"), lab.add_host("ckptt")
        scan_if, target_if = lab.link(scanner, target, "10.236.8.1/24", "10.236.8.2/24")
        # The target answers for the whole /22 (AnyIP); nothing listens, so each SYN gets a RST.
        target.cmd("ip", "route", "add", "local", SPACE, "dev", "lo")
        checkpoint, output = os.path.join(tmp, "scan.checkpoint"), os.path.join(tmp, "out.json")
        command = ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                   "--targets", SPACE, "--ports", ",".join(PORTS), "--seed", "5",
                   "--checkpoint", checkpoint, "-f", output, "-t", "1", "-rt", "1",
                   "-c", "0", "-w", "2", "--allow-reserved", "-sendInterface", scan_if,
                   "-sourceIP", "10.236.8.1", "-gatewayMac", target.mac(target_if)]
        # Slowly at first, so Ctrl-C comes early; the rate is no part of the checkpoint.
        first = subprocess.Popen(command + ["-rate", "100"], stderr=subprocess.PIPE, text=True)
        try:
            for line in first.stderr:               # progress lines, once a second
                if "targets" in line and not line.startswith("++") and " targets 0;" not in line:
                    break
            time.sleep(0.5)
            first.send_signal(signal.SIGINT)
            _, rest = first.communicate(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode == 130, rest
        with open(output) as fh:
            after_first = sum(1 for _ in fh)
        assert 0 < after_first < 1024 * len(PORTS)
        second = subprocess.run(command + ["-rate", "5000"], capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        again = subprocess.run(command + ["-rate", "5000"], capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        with open(output) as fh:
            records = [json.loads(line) for line in fh]
        seen = [(r["saddr"], r["sport"]) for r in records]
    assert len(seen) == len(set(seen)) == 1024 * len(PORTS)
    assert all(r["RST"] for r in records), "every target refused its SYN"
