"""Range scans of an emulated /16: every HTTP host found? targets per second, CPU per target.

One target namespace answers for all of 10.252.0.0/16 through an AnyIP local route
(`ip route add local 10.252.0.0/16 dev lo`). One HTTP server listens on port 80 of every one
of those addresses; iptables in the target namespace drops the SYNs to every address whose
last octet is not 7, 77 or 177, so 3 in 256 addresses (1.2 %) serve HTTP and the rest are
silent, as most of the Internet is. The scanner namespace is linked only to the target.

The same scan runs at each rate of --rates (default: 100000 and an unbounded 100000000), as
a user runs it (`lzr --targets 10.252.0.0/16 --ports 80 -t 2 ...`). For each it prints the
HTTP hosts found against those that serve, the wall time, targets per second end to end
(start-up and the last -t included), and the CPU seconds of all lzr processes per 1,000
targets.

    python bench/scan.py [--rates N,N] [--workers K] [--prefix-bits 16] [--lzr-source DIR]

`--lzr-source DIR` runs the lzr of another checkout (an older commit, to compare). Prints the
figures; asserts nothing about time.
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
from collections import Counter

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


def scan(scanner, target, scan_if: str, target_if: str, prefix: str, rate: int, workers: int,
         tmp: str, lzr_source: str | None, profile: str | None) -> tuple[list[dict], float, float]:
    """(records, wall seconds, CPU seconds of every lzr process) of one scan."""
    output = os.path.join(tmp, f"records-{rate}.json")
    command = [sys.executable, "-m", "lzr.cli", "--targets", prefix, "--ports", str(PORT),
               "--seed", "1", "-handshakes", "http", "-t", "2", "-rate", str(rate), "--extended",
               "-w", str(workers), "-f", output, "--allow-reserved", "--quiet",
               "-sendInterface", scan_if, "-sourceIP", "10.250.0.1",
               "-gatewayMac", target.mac(target_if)]
    if profile:
        command += ["-cpuprofile", f"{profile}.{rate}"]
    env = dict(os.environ, PYTHONPATH=lzr_source) if lzr_source else None
    cpu_before, started = children_cpu(), time.monotonic()
    result = subprocess.run(["ip", "netns", "exec", scanner.netns, *command], env=env,
                            cwd=lzr_source, capture_output=True, text=True, timeout=900)
    wall, cpu = time.monotonic() - started, children_cpu() - cpu_before
    if result.returncode != 0:
        raise RuntimeError(f"lzr -rate {rate} ended with {result.returncode}:\n{result.stderr}")
    with open(output) as fh:
        return [json.loads(line) for line in fh], wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100000,100000000",
                        help="new targets per second, one scan each (comma-separated)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--prefix-bits", type=int, default=16, help="size of the prefix (/16)")
    parser.add_argument("--lzr-source", metavar="DIR", help="run the lzr of this checkout")
    parser.add_argument("--profile", metavar="FILE", help="pass -cpuprofile FILE.<rate> to lzr")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/scan.py needs root (namespaces, raw sockets)", file=sys.stderr)
        return 1
    prefix = f"10.252.0.0/{args.prefix_bits}"      # aligned for prefixes up to /14
    size = 1 << (32 - args.prefix_bits)
    served = size // 256 * len(SERVED_OCTETS.split(","))
    results = []
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
        for rate in (int(text) for text in args.rates.split(",")):
            records, wall, cpu = scan(scanner, target, scan_if, target_if, prefix, rate,
                                      args.workers, tmp, args.lzr_source, args.profile)
            results.append((rate, records, wall, cpu))
    print(f"scans of {prefix} x port {PORT}: {size} targets, {served} serve HTTP, "
          f"{args.workers} workers, -t 2")
    for rate, records, wall, cpu in results:
        found = {r["saddr"] for r in records if r["fingerprint"] == "http"}
        missed = Counter(r.get("outcome", "?") for r in records if r["fingerprint"] != "http")
        verdict = "all" if len(found) == served else (
            f"MISSED {served - len(found)}: " + ", ".join(f"{n} {o}" for o, n in missed.items()))
        print(f"  -rate {rate:>11,}: http {len(found)} of {served} ({verdict}); {len(records)} "
              f"records; wall {wall:.1f} s; {size / wall:,.0f} targets/s end to end; "
              f"CPU {cpu:.1f} s = {cpu / size * 1000:.3f} CPU s per 1,000 targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
