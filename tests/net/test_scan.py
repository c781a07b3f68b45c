"""The scanner as users run it (`lzr ...`), in namespaces each test makes and removes.

A scanner namespace is linked only to a target namespace (and, for ZMap, a router between
them) that runs real services from lzr_sim.demo: HTTP on 8081, TLS on 8443, an SSH banner on
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

from lzr_sim.demo import CLOSED_PORT, HTTP_PORT, SILENT_PORT, SSH_PORT, TLS_PORT, TargetServices
from lzr_sim.lab import NetnsLab
from waiting import wait_until

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


@pytest.mark.netns
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


@pytest.mark.netns
def test_two_workers_find_what_one_finds(pair):
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


def capture(host, ifname: str, path: str) -> subprocess.Popen:
    """tcpdump in `host` writing every frame of `ifname` to `path`; returns once it listens.

    Immediate mode: without it frames wait in the capture ring for up to a second, and a scan
    that ends sooner would stop tcpdump before it saw them."""
    proc = host.popen("tcpdump", "-i", ifname, "-n", "--immediate-mode", "-U", "-w", path,
                      stderr=subprocess.PIPE, text=True)
    assert "listening" in proc.stderr.readline()
    return proc


def captured(path: str, expression: str) -> int:
    out = subprocess.run(["tcpdump", "-r", path, "-n", expression], capture_output=True, text=True)
    return len(out.stdout.splitlines())


@pytest.mark.netns
def test_blocked_target_never_receives_a_packet(pair):
    _, scanner, target, scan_if = pair
    (target_if,) = target.interfaces
    target.cmd("ip", "addr", "add", "10.232.0.3/24", "dev", target_if)
    with tempfile.TemporaryDirectory() as tmp:
        blocklist = os.path.join(tmp, "blocklist")
        with open(blocklist, "w") as fh:
            fh.write("# the second address of the target\n10.232.0.3/32\n")
        dump = os.path.join(tmp, "target.pcap")
        tcpdump = capture(target, target_if, dump)
        stdin = f"10.232.0.2;{HTTP_PORT}\n10.232.0.3;{HTTP_PORT}\n10.232.0.3;{SSH_PORT}\n"
        result = lzr(scanner, "-sendSYNs", "-f", "-", "-w", "2", "-sendInterface", scan_if,
                     "--blocklist", blocklist, *FAST, stdin=stdin)
        time.sleep(0.2)
        tcpdump.terminate()
        tcpdump.wait()
        assert result.returncode == 0, result.stderr
        assert set(records(result.stdout)) == {HTTP_PORT}
        assert summary_counters(result.stderr)["Blocked"] == 2
        assert captured(dump, "tcp and dst host 10.232.0.2") > 0       # the capture works
        assert captured(dump, "dst host 10.232.0.3") == 0


def ipv6_link(lab, scanner_name: str, target_name: str, prefix: str):
    """Two hosts linked by `prefix`::1 (scanner) and ::2 (target), with addresses usable: (scanner,
    target, scanner's interface, target's interface)."""
    scanner, target = lab.add_host(scanner_name), lab.add_host(target_name)
    scan_if, target_if = lab.link(scanner, target, f"{prefix}::1/64", f"{prefix}::2/64")
    # Neighbour discovery waits until the new links' link-local addresses pass DAD.
    for host, ifname in ((scanner, scan_if), (target, target_if)):
        assert wait_until(lambda: not host.cmd("ip", "-6", "addr", "show", "dev", ifname,
                                               "tentative").stdout.strip(), 10), \
            f"{ifname}: IPv6 addresses stay tentative"
    return scanner, target, scan_if, target_if


@pytest.mark.netns
def test_ipv6_end_to_end():
    with NetnsLab() as lab:
        scanner, target, scan_if, _ = ipv6_link(lab, "scan6", "tgt6", "fd00:232")
        with TargetServices(target, ipv6=True):
            stdin = "".join(f"fd00:232::2;{port}\n" for port in PORTS)
            result = lzr(scanner, "-ipv6", "-sendSYNs", "-handshakes", "http,tls", "-f", "-",
                         "-sendInterface", scan_if, *FAST, stdin=stdin)
    assert result.returncode == 0, result.stderr
    found = records(result.stdout)
    assert {port: r["fingerprint"] for port, r in found.items()} == {
        HTTP_PORT: "http", TLS_PORT: "tls", SSH_PORT: "ssh", CLOSED_PORT: "unknown",
        SILENT_PORT: "unknown"}, result.stdout
    assert found[SILENT_PORT]["expectedRToLZR"] == "sa"        # from the SYN ledger
    assert {r["saddr"] for r in found.values()} == {"fd00:0232:0000:0000:0000:0000:0000:0002"}


def test_shards_of_a_range_cover_it_once():
    """--shards 3 over a /24 x 10 ports: the three runs' targets together are the space, once."""
    seen = []
    for shard in range(3):
        result = subprocess.run(
            [sys.executable, "-m", "lzr.cli", "--targets", "10.233.1.0/24", "--ports", "8000-8009",
             "--seed", "11", "--shards", "3", "--shard", str(shard), "--allow-reserved",
             "--print-targets"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        seen += result.stdout.split()
    assert len(seen) == 256 * 10
    assert set(seen) == {f"10.233.1.{host};{port}" for host in range(256) for port in range(8000, 8010)}


@pytest.mark.netns
def test_strict_aborts_and_zgrab_feed_with_only_data_records(pair):
    _, scanner, target, scan_if = pair
    ip = target.address()
    strict = lzr(scanner, "-sendSYNs", "-f", "-", "-sendInterface", scan_if, "--strict", *FAST,
                 stdin=f"{ip};{HTTP_PORT}\n{ip};http\n")
    assert strict.returncode == 1
    assert "line 2" in strict.stderr and "--strict" in strict.stderr
    assert "lzr-rstguard" not in scanner.cmd("iptables", "-S", "OUTPUT").stdout
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "records.json")
        result = lzr(scanner, "-sendSYNs", "-f", output, "-feedZGrab", "-onlyDataRecord",
                     "-sendInterface", scan_if, *FAST,
                     stdin=f"{ip};{HTTP_PORT}\n{ip};{CLOSED_PORT}\n")
        assert result.returncode == 0, result.stderr
        with open(output) as fh:
            written = [json.loads(line) for line in fh]
    assert [(r["sport"], r["fingerprint"]) for r in written] == [(HTTP_PORT, "http")]
    assert result.stdout.splitlines() == [f"{ip},,http,{HTTP_PORT}"]
    assert summary_counters(result.stderr)["TotalResponses"] == 2   # the RST is counted


@pytest.mark.netns
@pytest.mark.parametrize("mode", ["source-ip", "source-ports", "nfqueue"])
def test_every_rst_guard_mode_keeps_connections_alive(pair, mode):
    _, scanner, target, scan_if = pair
    ip = target.address()
    result = lzr(scanner, "-sendSYNs", "-f", "-", "-sendInterface", scan_if, "--rst-guard", mode,
                 *FAST, stdin=f"{ip};{HTTP_PORT}\n{ip};{SSH_PORT}\n")
    assert result.returncode == 0, result.stderr
    assert {port: r["fingerprint"] for port, r in records(result.stdout).items()} == {
        HTTP_PORT: "http", SSH_PORT: "ssh"}
    assert "lzr-rstguard" not in scanner.cmd("iptables", "-S", "OUTPUT").stdout


@pytest.mark.netns
def test_range_scan_through_a_router_finds_interface_address_and_gateway_itself():
    """No -sendInterface, -sourceIP or -gatewayMac: the kernel's route and neighbour table say."""
    with NetnsLab() as lab:
        scanner, router, target = lab.add_host("rscan"), lab.add_host("rrtr"), lab.add_host("rtgt")
        lab.link(scanner, router, "10.237.1.1/24", "10.237.1.254/24")
        lab.link(router, target, "10.237.2.254/24", "10.237.2.2/24")
        router.cmd("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        scanner.cmd("ip", "route", "add", "10.237.2.0/24", "via", "10.237.1.254")
        target.cmd("ip", "route", "add", "10.237.1.0/24", "via", "10.237.2.254")
        with TargetServices(target):
            result = lzr(scanner, "--targets", "10.237.2.2/32", "--ports", f"{HTTP_PORT},{SSH_PORT}",
                         "-f", "-", *FAST)
    assert result.returncode == 0, result.stderr
    found = records(result.stdout)
    assert {port: r["fingerprint"] for port, r in found.items()} == {HTTP_PORT: "http", SSH_PORT: "ssh"}
    assert {r["daddr"] for r in found.values()} == {"10.237.1.1"}


@pytest.mark.netns
def test_range_scan_of_a_directly_connected_subnet_resolves_each_target():
    """No gateway: every target is its own next hop; silent addresses never resolve. A range
    scan writes records for the targets that answered and counts the rest."""
    with NetnsLab() as lab:
        scanner, target = lab.add_host("lan"), lab.add_host("lant")
        lab.link(scanner, target, "10.238.0.1/24", "10.238.0.2/24")
        with TargetServices(target):
            result = lzr(scanner, "--targets", "10.238.0.0/27", "--ports", f"{HTTP_PORT},{SSH_PORT}",
                         "-f", "-", *FAST)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(r["saddr"], r["sport"]): r["fingerprint"] for r in lines} == {
        ("10.238.0.2", HTTP_PORT): "http", ("10.238.0.2", SSH_PORT): "ssh"}
    assert summary_counters(result.stderr)["Unanswered"] == 32 * 2 - 2
