"""The stateless SYN phase as users run it: forged answers are dropped and counted, a range
scan never sends to a blocked address and writes records only for answers, IPv6 ranges work.
All in namespaces each test makes and removes."""
from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from lzr.runtime.packet_socket import PacketSocket, RowSender, SendError, run_in_netns
from lzr.wire import ACK, RST, SYN, FrameBuilder, parse_addr
from lzr_sim.demo import CLOSED_PORT, HTTP_PORT, SILENT_PORT, SSH_PORT, TargetServices
from lzr_sim.lab import NetnsLab
from test_scan import capture, captured, lzr, summary_counters, ipv6_link

pytestmark = pytest.mark.netns
FAST = ["-t", "1", "-rt", "1", "--quiet", "--allow-reserved"]
SYN_PORTS = range(32768, 46884)        # the lower half of the default --source-ports


@contextlib.contextmanager
def silent_target_under_fire(name: str, subnet: str, tmp: str):
    """A list scan of one silent target whose capture is up, and a raw socket in the target
    namespace to fire frames at the scanner with; yields (scan, its metadata file, socket,
    FrameBuilder from the target to the scanner, the scanner's address)."""
    scanner_ip, target_ip = f"{subnet}.1", f"{subnet}.2"
    with NetnsLab() as lab:
        scanner, target = lab.add_host(name), lab.add_host(f"{name}t")
        scan_if, target_if = lab.link(scanner, target, f"{scanner_ip}/24", f"{target_ip}/24")
        target.cmd("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(SILENT_PORT), "-j", "DROP")
        metadata = os.path.join(tmp, "meta.json")
        scan = subprocess.Popen(
            ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli", "-sendSYNs",
             "-f", "-", "-t", "3", "-rn", "0", "--allow-reserved", "-sendInterface", scan_if,
             "--metadata-file", metadata],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for line in scan.stderr:
                if line.startswith("++RST guard"):     # the capture is up
                    break
            scan.stdin.write(f"{target_ip};{SILENT_PORT}\n")
            scan.stdin.flush()
            with run_in_netns(target.netns, lambda: PacketSocket(target_if, protocol=0,
                                                                  program=None)) as sock:
                builder = FrameBuilder(sock.mac, bytes.fromhex(scanner.mac(scan_if).replace(":", "")),
                                       parse_addr(target_ip)[1], 4)
                yield scan, metadata, sock, builder, parse_addr(scanner_ip)[1]
        finally:
            if scan.poll() is None:
                scan.kill()


def test_forged_syn_acks_and_rsts_are_dropped_and_counted():
    with tempfile.TemporaryDirectory() as tmp, silent_target_under_fire(
            "forge", "10.239.0", tmp) as (scan, metadata, sock, builder, scanner_addr):
        # Answers that claim to be ours: SYN-ACKs and RSTs to ports of the SYN range with
        # acknowledgement numbers that are not ours.
        rng = random.Random(1)
        forged = [builder.segment(scanner_addr, SILENT_PORT, rng.choice(SYN_PORTS),
                                  rng.getrandbits(32), rng.getrandbits(32), flags, 29200)
                  for flags in (SYN | ACK, RST | ACK) for _ in range(50)]
        sock.send_batch(forged)
        out, err = scan.communicate(timeout=60)      # ends the input
        assert scan.returncode == 0, err
        with open(metadata) as fh:
            receiver = json.load(fh)["receiver"]
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["expectedRToLZR"] == "sa" and record["sport"] == SILENT_PORT
    assert receiver["forged"] == len(forged)
    assert summary_counters(err)["TotalResponses"] == 1


def test_a_range_scan_never_sends_to_a_blocked_address_and_records_only_answers():
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, target = lab.add_host("rblk"), lab.add_host("rblkt")
        scan_if, target_if = lab.link(scanner, target, "10.240.1.1/24", "10.240.1.2/24")
        # The target answers for 10.240.0.0/29: every address SYN-ACKs or refuses.
        target.cmd("ip", "route", "add", "local", "10.240.0.0/29", "dev", "lo")
        blocklist = os.path.join(tmp, "blocklist")
        with open(blocklist, "w") as fh:
            fh.write("10.240.0.5\n")
        dump = os.path.join(tmp, "target.pcap")
        tcpdump = capture(target, target_if, dump)
        with TargetServices(target):
            result = lzr(scanner, "--targets", "10.240.0.0/29", "--ports",
                         f"{HTTP_PORT},{SSH_PORT},{CLOSED_PORT}", "-f", "-", "--senders", "2",
                         "--blocklist", blocklist, "-sendInterface", scan_if, "-gatewayMac",
                         target.mac(target_if), *FAST)
        time.sleep(0.2)
        tcpdump.terminate()
        tcpdump.wait()
        assert result.returncode == 0, result.stderr
        assert captured(dump, "tcp and dst net 10.240.0.0/29") > 0        # the capture works
        assert captured(dump, "dst host 10.240.0.5") == 0
    found = [json.loads(line) for line in result.stdout.splitlines()]
    targets = {(r["saddr"], r["sport"]) for r in found}
    assert len(targets) == len(found) == 7 * 3
    assert ("10.240.0.5", HTTP_PORT) not in targets
    assert {r["fingerprint"] for r in found if r["sport"] == HTTP_PORT} == {"http"}
    assert all(r["RST"] for r in found if r["sport"] == CLOSED_PORT)
    counters = summary_counters(result.stderr)
    assert counters["Blocked"] == 3 and counters["Unanswered"] == 0


def test_an_ipv6_range_scan_finds_the_services_and_counts_the_silent():
    with NetnsLab() as lab:
        scanner, target, scan_if, target_if = ipv6_link(lab, "r6", "r6t", "fd00:241")
        with TargetServices(target, ipv6=True):
            result = lzr(scanner, "-ipv6", "--targets", "fd00:241::/126", "--ports",
                         f"{HTTP_PORT},{SSH_PORT},{CLOSED_PORT}", "-f", "-",
                         "-sendInterface", scan_if, "-gatewayMac", target.mac(target_if), *FAST)
    assert result.returncode == 0, result.stderr
    found = {(r["saddr"], r["sport"]): r for r in map(json.loads, result.stdout.splitlines())}
    mine = "fd00:0241:0000:0000:0000:0000:0000:0002"
    assert {key: r["fingerprint"] for key, r in found.items()} == {
        (mine, HTTP_PORT): "http", (mine, SSH_PORT): "ssh", (mine, CLOSED_PORT): "unknown"}
    assert found[mine, CLOSED_PORT]["RST"]
    # ::0 and ::3 are nobody's; ::1 is the scanner itself, which its kernel leaves unanswered
    assert summary_counters(result.stderr)["Unanswered"] == 3 * 3


def test_a_flood_the_capture_cannot_keep_up_with_is_reported():
    with tempfile.TemporaryDirectory() as tmp, silent_target_under_fire(
            "flood", "10.243.0", tmp) as (scan, metadata, sock, builder, scanner_addr):
        # Full-size segments that pass the capture filter, faster than Python looks at them.
        frame = builder.segment(scanner_addr, 80, SYN_PORTS.start, 1, 2, ACK, 512, bytes(1400))
        rows = np.tile(np.frombuffer(frame, np.uint8), (1024, 1))
        sender = RowSender(sock, rows)
        deadline = time.monotonic() + 5.0      # the input stays open meanwhile
        while time.monotonic() < deadline:
            try:
                sender.send(0, len(rows))
            except SendError:       # the device queue is full for a moment
                pass
        _, err = scan.communicate(timeout=60)
        assert scan.returncode == 0, err
        with open(metadata) as fh:
            meta = json.load(fh)
    drops = summary_counters(err)["CaptureDrops"]
    assert drops > 0 and meta["receiver"]["capture_drops"] == drops, meta["receiver"]
    assert meta["summary"]["CaptureDrops"] == drops
    assert f"the kernel dropped {drops} captured frames" in err
