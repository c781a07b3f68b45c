"""Least privilege in a running scan: every process that parses packets or input runs as the
unprivileged --user with no capabilities; only the coordinator keeps root."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lzr.runtime import privileges
from lzr_sim.demo import HTTP_PORT, TargetServices
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

NOBODY = privileges.account("nobody")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(child) for child in fh.read().split()]


def dropped(pid: int) -> bool:
    return privileges.status(pid)["Uid"].split()[0] != "0"


def test_the_processes_that_parse_packets_and_input_give_up_root():
    with NetnsLab() as lab:
        scanner, target = lab.add_host("priv"), lab.add_host("privt")
        scan_if, _ = lab.link(scanner, target, "10.238.0.1/24", "10.238.0.2/24")
        with TargetServices(target):
            # Directly connected: the workers' ARP requests go through the coordinator.
            scan = subprocess.Popen(
                ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                 "-sendSYNs", "-f", "-", "-w", "2", "-t", "1", "-rt", "1", "-c", "1",
                 "--allow-reserved", "--rst-guard", "nfqueue", "-sendInterface", scan_if],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                for line in scan.stderr:
                    if "++RST guard" in line:
                        break
                # writer, two workers, receiver, feeder; each drops at the end of its setup.
                deadline = time.monotonic() + 20
                while len(children(scan.pid)) < 5 or not all(map(dropped, children(scan.pid))):
                    assert time.monotonic() < deadline, "not every child gave up root"
                    time.sleep(0.02)
                seen = {pid: privileges.status(pid) for pid in children(scan.pid)}
                coordinator = privileges.status(scan.pid)
                out, err = scan.communicate(f"10.238.0.2;{HTTP_PORT}\n", timeout=60)
            finally:
                if scan.poll() is None:
                    scan.kill()
                    scan.wait()
    assert scan.returncode == 0, err
    assert [json.loads(line)["fingerprint"] for line in out.splitlines()] == ["http"]
    for pid, fields in seen.items():
        assert fields["Uid"].split() == [str(NOBODY.uid)] * 4, pid
        assert fields["Gid"].split() == [str(NOBODY.gid)] * 4, pid
        assert {name: int(fields[name], 16) for name in privileges.CAPABILITY_FIELDS} == \
            dict.fromkeys(privileges.CAPABILITY_FIELDS, 0), pid
        assert fields["NoNewPrivs"] == "1"
    assert coordinator["Uid"].split()[0] == "0" and int(coordinator["CapEff"], 16) != 0
