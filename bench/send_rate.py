"""SYNs per second of the scanner a user runs, beside Debian's zmap on the same path, same run.

A throw-away NetnsLab: a scanner namespace linked by a veth pair to a sink namespace whose raw
PREROUTING chain drops everything arriving on the link. 10.0.0.0/8 is routed to the veth
inside the scanner namespace and every frame goes to the sink's MAC: nothing leaves the lab.
Packets are counted at the sink once a second (the veth's receive counter, read from
/proc/PID/net/dev of a process in the sink namespace).

Runs, RUN_SECONDS each, in this order:

  zmap -T 1 and zmap -T 2   10.0.0.0/8 port 80, -r 0 (no limit), -P 2: two probes per
                            target, as lzr's default -rn 1 sends each target two SYNs
  lzr, one sender           lzr --targets 10.128.0.0/10 --ports 1-65535 -rate 100000000
  lzr, two senders          the same with two senders
  lzr -rate 100000 -rn 0    one SYN per target, so packets at the sink = new targets/s

For each: the packets per second of every second, their median, the slowest steady second
(every second after the first) against the median, and for lzr the RSS of all its processes
at the 3rd and the 12th second. Then the ratios the targets are stated in:

  one sender median >= 1.0 x zmap -T 1; every steady second >= 80 % of the median;
  two senders >= 1.8 x one; RSS flat (within 10 %) from the 3rd to the 12th second;
  -rate 100000 held within +-5 %.

    python bench/send_rate.py [--repeat N] [--lzr-source DIR --senders-flag=-w]

`--lzr-source DIR` runs the lzr of another checkout (an older commit, to compare);
`--senders-flag` names its flag for the number of sending processes (`--senders`; the releases
before the stateless sender had only `-w`, which set the worker processes). The machine may be
shared: run it a few times (`--repeat`) and read the spread, not one figure.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from lzr_sim.lab import NetnsLab
from lzr_sim.processes import stop_process

RUN_SECONDS = 14
SCANNER_IP, SINK_IP = "10.76.0.1", "10.76.0.2"
ZMAP_TARGETS = "10.0.0.0/8"
LZR_TARGETS = "10.128.0.0/10"
RATE_TARGET = 100_000
START_TIMEOUT = 30.0


class Sink:
    """Counts the frames that reach the sink's end of the link."""

    def __init__(self, sink, ifname: str) -> None:
        self.ifname = ifname
        self.probe = sink.popen("sleep", "infinity")     # its /proc/PID/net is the sink's
        deadline = time.monotonic() + 10
        while not self._line():     # until the probe has entered the sink's namespace
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ifname} not in the sink's /proc/net/dev")
            time.sleep(0.01)

    def _line(self) -> str | None:
        with open(f"/proc/{self.probe.pid}/net/dev") as fh:
            return next((line for line in fh if line.partition(":")[0].strip() == self.ifname),
                        None)

    def received(self) -> int:
        return int(self._line().partition(":")[2].split()[1])


def process_tree(root: int) -> list[int]:
    """`root` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except OSError:
            continue
        parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def rss_mib(root: int) -> float:
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Run:
    def __init__(self, name: str, per_second: list[int], rss: list[float] | None) -> None:
        self.name, self.per_second, self.rss = name, per_second, rss

    @property
    def median(self) -> float:
        return statistics.median(self.steady) if self.steady else 0.0

    @property
    def steady(self) -> list[int]:
        return self.per_second[1:]          # the first second holds the start

    @property
    def worst(self) -> float:
        return min(self.steady) / self.median if self.median else 0.0


def measure(name: str, sink: Sink, proc: subprocess.Popen, track_rss: bool) -> Run:
    """Once packets flow, count them each second for RUN_SECONDS; then stop the process."""
    try:
        before = sink.received()
        deadline = time.monotonic() + START_TIMEOUT
        while sink.received() == before:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: no packet reached the sink "
                                   f"(exit status {proc.poll()})")
            time.sleep(0.01)
        counts, rss = [], []
        last, tick = sink.received(), time.monotonic()
        for _ in range(RUN_SECONDS):
            tick += 1.0
            time.sleep(max(0.0, tick - time.monotonic()))
            now = sink.received()
            counts.append(now - last)
            last = now
            if track_rss:
                rss.append(rss_mib(proc.pid))
        return Run(name, counts, rss if track_rss else None)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        stop_process(proc, grace=10)


def zmap(scanner, sink: Sink, scan_if: str, sink_mac: str, workdir: str, threads: int) -> Run:
    blocklist = os.path.join(workdir, "blocklist")
    open(blocklist, "w").close()
    proc = scanner.popen(
        "zmap", "-p", "80", "-i", scan_if, "-G", sink_mac, "-b", blocklist, "-S", SCANNER_IP,
        "-r", "0", "-P", "2", "-T", str(threads), "-c", "0", "-q", "-v", "0", "-o", "/dev/null",
        ZMAP_TARGETS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return measure(f"zmap -T {threads}", sink, proc, track_rss=False)


def lzr(scanner, sink: Sink, scan_if: str, sink_mac: str, name: str, extra: list[str],
        source: str | None) -> Run:
    proc = scanner.popen(
        sys.executable, "-m", "lzr.cli", "--targets", LZR_TARGETS, "--ports", "1-65535",
        "-f", "/dev/null", "--quiet", "--allow-reserved", "-sendInterface", scan_if,
        "-sourceIP", SCANNER_IP, "-gatewayMac", sink_mac, *extra,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=source) if source else None, cwd=source)
    return measure(name, sink, proc, track_rss=True)


def ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def report(runs: dict[str, Run]) -> None:
    print(f"packets per second at the sink, {RUN_SECONDS} one-second samples per run:")
    for run in runs.values():
        print(f"  {run.name:<24} median {run.median:>11,.0f}  slowest steady second "
              f"{run.worst:>5.0%} of it")
        print(f"  {'':<24} " + " ".join(f"{n / 1000:,.0f}k" for n in run.per_second))
        if run.rss:
            third, twelfth = run.rss[2], run.rss[11]
            print(f"  {'':<24} RSS of all lzr processes: {third:.0f} MiB at 3 s, {twelfth:.0f} MiB "
                  f"at 12 s ({ratio(twelfth, third) - 1:+.0%})")
    one, two = runs["one"], runs["two"]
    zmap1, zmap2 = runs["zmap1"], runs["zmap2"]
    rated = runs["rate"]
    print("against the targets:")
    checks = [
        ("one sender / zmap -T 1", ratio(one.median, zmap1.median), ">= 1.00",
         one.median >= zmap1.median),
        ("two senders / zmap -T 2", ratio(two.median, zmap2.median), "(for reference)", True),
        ("two senders / one sender", ratio(two.median, one.median), ">= 1.80",
         0 < 1.8 * one.median <= two.median),
        ("one sender, slowest steady second / median", one.worst, ">= 0.80", one.worst >= 0.8),
        ("two senders, slowest steady second / median", two.worst, ">= 0.80", two.worst >= 0.8),
    ]
    for run in (one, two, rated):
        growth = ratio(run.rss[11], run.rss[2])
        checks.append((f"{run.name}: RSS 12th / 3rd second", growth, "within 1.00 +- 0.10",
                       abs(growth - 1) <= 0.10))
    low, high = min(rated.steady) / RATE_TARGET, max(rated.steady) / RATE_TARGET
    checks.append(("-rate 100000: every steady second / rate", low, f"..{high:.3f}, within 0.95-1.05",
                   0.95 <= low and high <= 1.05))
    for label, value, target, ok in checks:
        print(f"  {label:<46} {value:>6.3f}  {target:<24} {'ok' if ok else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="measure everything N times")
    parser.add_argument("--lzr-source", metavar="DIR", help="run the lzr of this checkout")
    parser.add_argument("--senders-flag", default="--senders",
                        help="the flag that sets the number of sending processes")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/send_rate.py needs root (namespaces, raw sockets)", file=sys.stderr)
        return 1
    if shutil.which("zmap") is None:
        print("bench/send_rate.py needs Debian's zmap (apt-get install zmap)", file=sys.stderr)
        return 1
    workdir = tempfile.mkdtemp(prefix="lzr-send-rate-")
    try:
        for repeat in range(args.repeat):
            with NetnsLab() as lab:
                scanner, sink_host = lab.add_host("srscan"), lab.add_host("srsink")
                scan_if, sink_if = lab.link(scanner, sink_host, f"{SCANNER_IP}/24", f"{SINK_IP}/24")
                scanner.cmd("ip", "route", "add", ZMAP_TARGETS, "dev", scan_if)
                sink_host.cmd("iptables", "-t", "raw", "-A", "PREROUTING", "-i", sink_if, "-j", "DROP")
                sink_mac = sink_host.mac(sink_if)
                sink = Sink(sink_host, sink_if)
                senders = args.senders_flag
                unbounded = ["-rate", "100000000"]
                runs = {
                    "zmap1": zmap(scanner, sink, scan_if, sink_mac, workdir, 1),
                    "zmap2": zmap(scanner, sink, scan_if, sink_mac, workdir, 2),
                    "one": lzr(scanner, sink, scan_if, sink_mac, "lzr, one sender",
                               [*unbounded, senders, "1"], args.lzr_source),
                    "two": lzr(scanner, sink, scan_if, sink_mac, "lzr, two senders",
                               [*unbounded, senders, "2"], args.lzr_source),
                    "rate": lzr(scanner, sink, scan_if, sink_mac, "lzr -rate 100000 -rn 0",
                                ["-rate", str(RATE_TARGET), "-rn", "0", senders, "1"],
                                args.lzr_source),
                }
            if args.repeat > 1:
                print(f"--- run {repeat + 1} of {args.repeat}")
            report(runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
