"""--checkpoint: a range scan stopped with Ctrl-C and run again with the same file covers the
space exactly once: nothing finished is repeated, nothing is skipped. Killed at random moments
(SIGKILL), it loses nothing and never probes again a target before the last checkpoint."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from lzr.targets.blocklist import AddressPolicy, parse_network
from lzr.targets.ranges import Checkpoint, RangeScan, TargetSpace
from lzr_sim.lab import NetnsLab
from accepting import accept_every_port
from test_scan import capture

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


def syns_seen(path: str) -> list[tuple[float, str, int]]:
    """(time, target address, target port) of every bare SYN in a capture."""
    out = subprocess.run(["tcpdump", "-r", path, "-n", "-tt", "tcp[tcpflags] == tcp-syn"],
                         capture_output=True, text=True).stdout
    seen = []
    for line in out.splitlines():
        stamp, _, rest = line.partition(" IP ")
        destination = rest.split(" > ", 1)[1].split(":", 1)[0]
        address, _, port = destination.rpartition(".")
        seen.append((float(stamp), address, int(port)))
    return seen


def test_sigkill_at_random_moments_loses_nothing_and_repeats_nothing_before_the_mark():
    space = TargetSpace([parse_network(SPACE)], [int(p) for p in PORTS],
                        AddressPolicy(allow_reserved=True))
    # Where each target is in the walk: a checkpoint at position P covers those below P.
    walk = RangeScan(space, seed=5)
    position = {}
    for target in walk:
        position[f"{target.addr >> 24}.{target.addr >> 16 & 255}.{target.addr >> 8 & 255}."
                 f"{target.addr & 255}", target.port] = walk.position - 1
    rng = random.Random(13)
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, target = lab.add_host("kill"), lab.add_host("killt")
        scan_if, target_if = lab.link(scanner, target, "10.236.9.1/24", "10.236.9.2/24")
        # Every target accepts (the target's kernel, through a redirect to one listener) and
        # never answers the probe: with --compat each waits -t for an answer, so a kill finds
        # a few seconds of targets in flight.
        accept_every_port(target, SPACE)
        dump = os.path.join(tmp, "syns.pcap")
        tcpdump = capture(target, target_if, dump)
        checkpoint, output = os.path.join(tmp, "scan.checkpoint"), os.path.join(tmp, "out.json")
        command = ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                   "--targets", SPACE, "--ports", ",".join(PORTS), "--seed", "5",
                   "--checkpoint", checkpoint, "-f", output, "-t", "2", "-rn", "0", "-c", "0",
                   "--compat", "-rate", "300", "--senders", "2", "-w", "2", "--quiet",
                   "--allow-reserved", "-sendInterface", scan_if,
                   "-gatewayMac", target.mac(target_if)]
        kills = []          # (when, the checkpoint's position then)
        for _ in range(3):
            scan = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(5.5, 8.0))   # a checkpoint comes 5 to 7 s after its SYNs
            scan.kill()     # the coordinator; its processes die with it
            scan.wait()
            time.sleep(0.3)
            killed_at = time.time()
            mark = 0
            if os.path.exists(checkpoint):
                with open(checkpoint) as fh:
                    mark = Checkpoint.from_json(fh.read()).position
            kills.append((killed_at, mark))
        final = subprocess.run(command, capture_output=True, text=True, timeout=120)
        time.sleep(0.3)
        tcpdump.terminate()
        tcpdump.wait()
        assert final.returncode == 0, final.stderr
        with open(output) as fh:
            records = [json.loads(line) for line in fh]
        answered = {(r["saddr"], r["sport"]) for r in records}
        syns = syns_seen(dump)
    marks = [mark for _, mark in kills]
    assert marks == sorted(marks) and marks[-1] > 0, marks      # the checkpoint advanced
    assert answered == set(position), "a target has no record"    # nothing lost
    assert all(r["expectedRToLZR"] == "data" for r in records)    # accepted, never answered
    for killed_at, mark in kills:                                 # nothing before a mark again
        again = [(address, port) for when, address, port in syns
                 if when > killed_at and position[address, port] < mark]
        assert again == [], (mark, again[:5])
