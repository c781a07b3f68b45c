"""The classic pipeline with Debian's real ZMap: `zmap ... -O json | lzr -handshakes http,tls`
(and ZMap's CSV output).

Three namespaces: scanner -- router -- target (demo services). ZMap needs the router's MAC
(-G) and an empty blocklist (-b; its default excludes 10/8). ZMap 2.1.1 scans one port per
run, so the scanner runs it once per port into one lzr. The RST guard must be in place
before ZMap's first SYN-ACK arrives, so ZMap starts after lzr printed its start-up lines.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

import pytest

from lzr_sim.demo import HTTP_PORT, SSH_PORT, TLS_PORT, TargetServices
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

ZMAP_FIELDS = "saddr,daddr,sport,dport,seqnum,acknum,window"


@pytest.mark.skipif(shutil.which("zmap") is None and os.environ.get("CI") != "true",
                    reason="zmap is not installed (ci/setup installs it)")
@pytest.mark.parametrize("output_module", ["json", "csv"])
def test_zmap_output_piped_into_lzr_labels_the_services(output_module):
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, router, target = lab.add_host("zscan"), lab.add_host("zrtr"), lab.add_host("ztgt")
        scan_if, router_in = lab.link(scanner, router, "10.234.1.1/24", "10.234.1.254/24")
        _, _ = lab.link(router, target, "10.234.2.254/24", "10.234.2.2/24")
        router.cmd("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        scanner.cmd("ip", "route", "add", "10.234.2.0/24", "via", "10.234.1.254")
        target.cmd("ip", "route", "add", "10.234.1.0/24", "via", "10.234.2.254")
        router_mac = router.mac(router_in)
        empty = os.path.join(tmp, "blocklist")
        open(empty, "w").close()
        zmap_runs = "; ".join(
            f"zmap -q -p {port} -i {scan_if} -G {router_mac} -S 10.234.1.1 -b {empty} -c 1 "
            f"--output-filter='success = 1 && repeat = 0' -f '{ZMAP_FIELDS}' -O {output_module} "
            f"10.234.2.2/32"
            for port in (HTTP_PORT, TLS_PORT, SSH_PORT))
        # Each zmap run prints its own CSV header: lzr takes each repeat as a header again.
        lzr = (f"{sys.executable} -m lzr.cli -handshakes http,tls -f - -t 1 -rt 1 -c 1 -w 2 "
               f"--allow-reserved -sendInterface {scan_if} -gatewayMac {router_mac}")
        # lzr announces itself on stderr once its guard and processes are up; ZMap waits for it.
        pipeline = f"mkfifo {tmp}/up; ({{ read line < {tmp}/up; {zmap_runs}; }}) | {lzr} 2> >(tee -p {tmp}/up >&2)"
        with TargetServices(target):
            result = scanner.cmd("bash", "-c", pipeline, check=False)
        assert result.returncode == 0, result.stderr
        found = {}
        for line in result.stdout.splitlines():
            record = json.loads(line)
            found[record["sport"]] = record["fingerprint"]
        assert found == {HTTP_PORT: "http", TLS_PORT: "tls", SSH_PORT: "ssh"}


@pytest.mark.skipif(shutil.which("zmap") is None and os.environ.get("CI") != "true",
                    reason="zmap is not installed (ci/setup installs it)")
def test_zmap_dryrun_text_piped_into_lzr_dryrun():
    """ZMap plans the probes (`--dryrun` sends nothing), lzr sends them itself."""
    with NetnsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        scanner, target = lab.add_host("dscan"), lab.add_host("dtgt")
        scan_if, target_if = lab.link(scanner, target, "10.234.3.1/24", "10.234.3.2/24")
        empty = os.path.join(tmp, "blocklist")
        open(empty, "w").close()
        pipeline = (f"zmap -q --dryrun -p {HTTP_PORT} -i {scan_if} -G {target.mac(target_if)} "
                    f"-S 10.234.3.1 -b {empty} 10.234.3.2/32 2>/dev/null | {sys.executable} -m lzr.cli "
                    f"-dryrun -f - -t 1 -rt 1 -c 1 --quiet --allow-reserved -sendInterface {scan_if}")
        with TargetServices(target):
            result = scanner.cmd("bash", "-c", pipeline, check=False)
        assert result.returncode == 0, result.stderr
        (record,) = map(json.loads, result.stdout.splitlines())
        assert (record["saddr"], record["sport"], record["fingerprint"]) == ("10.234.3.2", HTTP_PORT, "http")
