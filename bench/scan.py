"""Range scan of an emulated /16: targets per second end to end, CPU seconds per 1,000 targets.

One target namespace answers for all of 10.252.0.0/16 through an AnyIP local route
(`ip route add local 10.252.0.0/16 dev lo`). One HTTP server listens on port 80 of every one
of those addresses; iptables in the target namespace drops the SYNs to every address whose
last octet is not 7, 77 or 177, so 3 in 256 addresses (1.2 %) serve HTTP and the rest are
silent, as most of the Internet is. The scanner namespace is linked only to the target.

    python bench/scan.py [--rate N] [--workers K] [--prefix-bits 16]

Prints the figures; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from lzr_sim.lab import NetnsLab  # noqa: E402

SERVED_OCTETS = "7,77,177"
# http.server with a listen backlog that holds a burst of SYN-ACKed connections.
HTTP_SERVER = """
import http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4096
Server(("0.0.0.0", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
PORT = 80


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20000, help="new targets per second")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--prefix-bits", type=int, default=16, help="size of the prefix (/16)")
    parser.add_argument("--profile", metavar="FILE", help="pass -cpuprofile FILE to lzr")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/scan.py needs root (namespaces, raw sockets)", file=sys.stderr)
        return 1
    prefix = f"10.252.0.0/{args.prefix_bits}"      # aligned for prefixes up to /14
    size = 1 << (32 - args.prefix_bits)
    with NetnsLab() as lab, tempfile.TemporaryDirectory(prefix="lzr-bench-") as tmp:
        scanner, target = lab.add_host("bscan"), lab.add_host("btgt")
        scan_if, target_if = lab.link(scanner, target, "10.250.0.1/30", "10.250.0.2/30")
        target.cmd("ip", "route", "add", "local", prefix, "dev", "lo")
        target.cmd("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "--syn",
                   "-d", prefix, "-m", "u32", "!", "--u32", f"16&0xFF={SERVED_OCTETS}", "-j", "DROP")
        with open(os.path.join(tmp, "index.html"), "w") as page:
            page.write("<html><body>bench</body></html>\n")
        target.popen(sys.executable, "-c", HTTP_SERVER, str(PORT), cwd=tmp,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        output = os.path.join(tmp, "records.json")
        command = [sys.executable, "-m", "lzr.cli", "--targets", prefix, "--ports", str(PORT),
                   "--seed", "1", "-handshakes", "http", "-t", "1", "-rt", "1", "-rn", "0",
                   "-c", "1", "-rate", str(args.rate), "-w", str(args.workers), "-f", output,
                   "--allow-reserved", "--quiet", "-sendInterface", scan_if,
                   "-sourceIP", "10.250.0.1", "-gatewayMac", target.mac(target_if)]
        if args.profile:
            command += ["-cpuprofile", args.profile]
        cpu_before, started = children_cpu(), time.monotonic()
        result = subprocess.run(["ip", "netns", "exec", scanner.netns, *command],
                                capture_output=True, text=True, timeout=600)
        wall, cpu = time.monotonic() - started, children_cpu() - cpu_before
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return 1
        with open(output) as fh:
            records = [json.loads(line) for line in fh]
    http = sum(1 for r in records if r["fingerprint"] == "http")
    expected = size // 256 * len(SERVED_OCTETS.split(","))
    print(f"scan of {prefix} x 1 port: {size} targets, -rate {args.rate}, {args.workers} workers")
    print(f"  records {len(records)}, http {http} (expected {expected})")
    print(f"  wall {wall:.1f} s (includes start-up, the last 1 s timeout and 1 s cooldown)")
    print(f"  end to end: {size / wall:,.0f} targets/s")
    print(f"  CPU: {cpu:.1f} s for all lzr processes = {cpu / size * 1000:.3f} CPU s per 1,000 targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
