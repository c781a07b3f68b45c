"""Time to name every service, and to record every hard case, against `nmap -sV` in the same run.

    .venv/bin/python bench/identify.py [--population daemons|catalogue] [--seed 1] [-t 5] [--no-nmap]

Needs root, Mininet, nmap and (for the default population) the Debian daemons; ci/setup
installs them all. Every packet stays inside the emulated network: both scanners run inside
its scanner host and are given only the population's addresses. Prints the figures; never
fails on time.

`--population daemons` (the default): the real-daemon tier of `lzr-sim --profile daemons`
(lzr_sim.population.daemon_tier): 16 Debian daemons, one per host on a random high port,
and the hard cases: an ACKing firewall (five of its ports), and a silent, a resetting, a
closed and a filtered port. lzr runs as a user runs it, `lzr -sendSYNs -handshakes all` with
default flags otherwise (`--extended -q` only add output fields and drop the progress line).
nmap runs `nmap -sV -Pn -n -p <the host's ports> <host>` for every host, all at once (a
single nmap given every port of the population would probe 25 ports of the firewall, which
accepts them all). The bench prints every target with what lzr recorded and what nmap said,
whether lzr named each service right and recorded each hard case as the manifest expects,
and the wall-time ratio. Target: lzr within 1/20 of nmap's wall time.

`--population catalogue`: synthetic services, two of each of 15 protocols on random high
ports, three to a host (`lzr_sim.population.catalogue`): `lzr -handshakes all` with its
default --parallel, with --parallel 1 and with --compat (LZR's one handshake at a time), and
`nmap -sV -Pn -n -p <every port of the population> <every host>` (ports that are closed on a
host cost nmap one RST). Target: lzr at least 10x faster than nmap, naming no fewer services.

A service counts as named by nmap when nmap's service name, found by its probes (not guessed
from the port number), maps to the service's label in NMAP_LABELS; TLS-wrapped HTTP
(`ssl/http`) counts as `tls`, the label lzr gives an HTTPS server.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from datetime import datetime

PROTOCOLS = ["http", "tls", "ssh", "ftp", "smtp", "imap", "telnet", "mysql", "postgres", "rdp",
             "vnc", "dns", "mqtt", "mongodb", "redis"]

# nmap's service names (nmap-services / nmap-service-probes) for these protocols.
NMAP_LABELS = {
    "http": "http", "https": "tls", "ssl": "tls", "ssh": "ssh", "ftp": "ftp", "smtp": "smtp",
    "imap": "imap", "pop3": "pop3", "telnet": "telnet", "mysql": "mysql", "postgresql": "postgres",
    "ms-wbt-server": "rdp", "vnc": "vnc", "domain": "dns", "mqtt": "mqtt", "mongodb": "mongodb",
    "mongod": "mongodb", "redis": "redis", "memcached": "memcached_ascii", "microsoft-ds": "smb",
    "netbios-ssn": "smb",
}


# Outcomes whose LZR record is an earlier packet, with that packet's time: our unanswered
# SYN, the ACK of a probe never answered, the SYN-ACK of an ACKing firewall's target, a
# zero-window SYN-ACK.
RECORDS_OF_AN_EARLIER_PACKET = ("no-synack", "acked-no-data", "acking-firewall", "zero-window")


def lzr_run(net, flags: list[str]) -> dict:
    """Scan the population with lzr: wall time, time from the first SYN to the last record,
    start-up (launch to first SYN), wind-down (last record to exit), label per target."""
    launched, started = time.time(), time.monotonic()
    records = net.scan(flags)
    wall = time.monotonic() - started
    exited = time.time()
    labels, seconds, first_start, last_end = {}, {}, None, None
    by_target = {(record["saddr"], record["sport"]): record for record in records}
    for record in records:
        labels[(record["saddr"], record["sport"])] = record["fingerprint"]
        seconds[(record["saddr"], record["sport"])] = record["identifySeconds"]
        if record.get("outcome") in RECORDS_OF_AN_EARLIER_PACKET:
            continue
        end = datetime.fromisoformat(record["Timestamp"]).timestamp()
        start = end - record["identifySeconds"]
        first_start = start if first_start is None else min(first_start, start)
        last_end = end if last_end is None else max(last_end, end)
    if first_start is None:
        sys.exit(f"lzr {' '.join(flags)} wrote no records")
    return {"wall": wall, "identified": last_end - first_start, "startup": first_start - launched,
            "winddown": exited - last_end, "labels": labels, "seconds": seconds, "records": by_target,
            "tried": sum(record["handshakesTried"] for record in records) / len(records)}


def nmap_label(service) -> tuple[str, str]:
    """(label, nmap's own name) of an nmap <service> element; label '' when not named."""
    if service is None:
        return "", "-"
    name, tunnel, method = service.get("name", ""), service.get("tunnel", ""), service.get("method")
    shown = f"{tunnel}/{name}" if tunnel else name
    if method != "probed":
        return "", shown + "?"       # nmap's guess from the port number, not an identification
    label = NMAP_LABELS.get(name, "")
    if tunnel == "ssl" and label == "http":
        label = "tls"
    return label, shown


def nmap_argv(hosts: list[str], ports: list[int], every_probe: bool) -> list[str]:
    return ["nmap", "-sV", *(["--version-all"] if every_probe else []), "-Pn", "-n",
            "-p", ",".join(map(str, sorted(ports))), "-oX", "-", *hosts]


def nmap_run(net, targets: list[tuple[str, int]], every_probe: bool = False) -> dict:
    """One nmap for every host and every port of the population."""
    argv = nmap_argv(sorted({address for address, _ in targets}), sorted({port for _, port in targets}), every_probe)
    started = time.monotonic()
    result = net.run("sc", argv, timeout=1800)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"nmap exited with {result.returncode}: {result.stderr[-2000:]}")
    return {"wall": wall, **nmap_findings([result.stdout])}


def nmap_each_host(net, manifest, every_probe: bool = False) -> dict:
    """One nmap per host with that host's ports, all started at once; wall time until the last ends."""
    from lzr_sim.processes import in_namespace

    scanner = net.node("sc").pid
    started = time.monotonic()
    runs = [subprocess.Popen(in_namespace(scanner, nmap_argv([host.address], [s.port for s in host.services],
                                                             every_probe)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for host in manifest.hosts]
    outputs = []
    for process in runs:
        stdout, stderr = process.communicate(timeout=1800)
        if process.returncode != 0:
            sys.exit(f"nmap exited with {process.returncode}: {stderr[-2000:]}")
        outputs.append(stdout)
    return {"wall": time.monotonic() - started, **nmap_findings(outputs)}


def nmap_findings(xml_outputs: list[str]) -> dict:
    """label (named by probes), nmap's service name and port state per (address, port)."""
    labels, names, states = {}, {}, {}
    for output in xml_outputs:
        for host in ElementTree.fromstring(output).iter("host"):
            address = host.find("address").get("addr")
            for port in host.iter("port"):
                key = (address, int(port.get("portid")))
                states[key] = port.find("state").get("state")
                if states[key] == "open":
                    labels[key], names[key] = nmap_label(port.find("service"))
    return {"labels": labels, "names": names, "states": states}


def named(manifest, labels: dict) -> int:
    """How many identifiable services `labels` names right."""
    return sum(labels.get((address, port)) == service.protocol
               for address, port, service in manifest.targets() if service.identifiable)


def catalogue_bench(args) -> None:
    """Synthetic services: lzr at its default --parallel, at 1 and in --compat, beside nmap."""
    from lzr.config import ScanConfig
    from lzr_sim.network import SimNetwork
    from lzr_sim.population import catalogue
    sweep = args.sweep

    manifest = catalogue(PROTOCOLS, copies=2, seed=args.seed)
    targets = [(address, port) for address, port, _ in manifest.targets()]
    flags = ["-handshakes", "all", "--extended", "-q"] + (["-t", f"{args.t:g}"] if args.t else [])
    total = len(targets)
    print(f"population: {total} services, {len(PROTOCOLS)} protocols, {len(manifest.hosts)} hosts "
          f"(catalogue seed {args.seed}); lzr {' '.join(flags)}")

    with SimNetwork(manifest) as net:
        parallel = lzr_run(net, flags)
        serial = lzr_run(net, flags + ["--parallel", "1"])
        compat = lzr_run(net, flags + ["--compat"])
        nmap = None if args.no_nmap else nmap_run(net, targets, args.nmap_version_all)
        swept = [(n, lzr_run(net, flags + ["--parallel", str(n)])) for n in sweep]
    shutil.rmtree(net.directory, ignore_errors=True)    # all that matters is printed below

    print()
    print(f"{'target':<20}{'runs':<10}{'lzr':<18}{'lzr --parallel 1':<22}nmap -sV")
    for address, port, service in manifest.targets():
        key = (address, port)
        ours = [f"{run['labels'].get(key, '-')} {run['seconds'].get(key, 0):.1f} s" for run in (parallel, serial)]
        print(f"{address + ':' + str(port):<20}{service.protocol:<10}{ours[0]:<18}{ours[1]:<22}"
              f"{nmap['names'].get(key, '-') if nmap else ''}")

    print()
    rows = [("lzr -handshakes all", parallel), ("lzr ... --parallel 1", serial), ("lzr ... --compat", compat)]
    for title, run in rows:
        print(f"{title:<22} wall {run['wall']:6.1f} s (start-up {run['startup']:.1f} s, first SYN to last "
              f"record {run['identified']:.1f} s, wind-down {run['winddown']:.1f} s), "
              f"named {named(manifest, run['labels'])}/{total}, {run['tried']:.1f} handshakes started per target")
    if nmap:
        title = "nmap -sV --version-all" if args.nmap_version_all else "nmap -sV"
        print(f"{title:<22} wall {nmap['wall']:6.1f} s, named {named(manifest, nmap['labels'])}/{total}")
    for n, run in swept:
        print(f"{'lzr ... --parallel ' + str(n):<22} wall {run['wall']:6.1f} s (first SYN to last record "
              f"{run['identified']:.1f} s), named {named(manifest, run['labels'])}/{total}, "
              f"{run['tried']:.1f} handshakes started per target")
    print("(--parallel 1 also sets the per-host cap to 1; --compat runs one handshake at a time with no cap;\n"
          " lzr exits when every target has its final record; only --compat also waits LZR's -c 8 cooldown)")
    slowest = max(parallel["seconds"].items(), key=lambda item: item[1])
    timeout = args.t or ScanConfig.timeout
    print(f"slowest target of lzr -handshakes all: {slowest[0][0]}:{slowest[0][1]} named after "
          f"{slowest[1]:.1f} s from its first SYN ({slowest[1] / timeout:.1f} x -t {timeout:g} s)")
    print()
    print(f"--parallel 1 / default: {serial['wall'] / parallel['wall']:.1f}x wall time, "
          f"{serial['identified'] / parallel['identified']:.1f}x first SYN to last record")
    if nmap:
        ours, theirs = named(manifest, parallel["labels"]), named(manifest, nmap["labels"])
        print(f"nmap -sV / lzr: {nmap['wall'] / parallel['wall']:.1f}x wall time, "
              f"{nmap['wall'] / parallel['identified']:.1f}x against lzr's first SYN to last record "
              f"(target >= 10x); services named {ours} vs {theirs} (target: no fewer)")


def daemons_bench(args) -> None:
    """The real-daemon tier: lzr -sendSYNs -handshakes all beside nmap -sV, in the same run."""
    from lzr_sim.daemons import DAEMONS
    from lzr_sim.network import SimNetwork
    from lzr_sim.population import daemon_tier
    from lzr_sim.report import evaluate

    missing = sorted({daemon.package for daemon in DAEMONS.values() if daemon.path() is None})
    if missing:
        sys.exit(f"Debian daemons not installed: {', '.join(missing)} (ci/setup installs them)")
    manifest = daemon_tier(args.seed)
    services = [(address, port, service) for address, port, service in manifest.targets() if service.identifiable]
    hard = len(manifest.targets()) - len(services)
    flags = ["-handshakes", "all", "--extended", "-q"] + (["-t", f"{args.t:g}"] if args.t else [])
    print(f"population: the real-daemon tier (seed {args.seed}): {len(services)} Debian daemons and {hard} "
          f"hard-case targets on {len(manifest.hosts)} hosts")
    print(f"lzr -sendSYNs {' '.join(flags)}   (--extended -q: output fields only)")
    print("nmap -sV -Pn -n -p <the host's ports> <host>, one per host, all at once")

    with SimNetwork(manifest) as net:
        lzr = lzr_run(net, flags)
        nmap = None if args.no_nmap else nmap_each_host(net, manifest, args.nmap_version_all)
    shutil.rmtree(net.directory, ignore_errors=True)    # all that matters is printed below
    report = evaluate(manifest, list(lzr["records"].values()), None)
    cases = {(case.address, case.port): case for case in report.hard_cases}

    print()
    print(f"{'target':<20}{'truth':<17}{'lzr':<64}{'seconds':<9}{'nmap -sV' if nmap else ''}")
    for host in manifest.hosts:
        for service in host.services:
            key = (host.address, service.port)
            record = lzr["records"].get(key)
            if service.identifiable:
                truth = service.protocol
                ours = record["fingerprint"] if record else "(no record)"
                verdict = "ok" if record and ours == service.protocol else "WRONG"
            else:
                truth = host.behaviour if host.behaviour != "normal" else service.behaviour
                case = cases[key]
                ours = ", ".join(f"{field}={value}" for field, value in record_fields(record, case.expect))
                verdict = "ok" if case.ok else "WRONG"
            theirs = f"{nmap['states'].get(key, '-')} {nmap['names'].get(key, '')}" if nmap else ""
            seconds = lzr["seconds"].get(key)
            took = "" if seconds is None else f"{seconds:.1f}"
            print(f"{host.address + ':' + str(service.port):<20}{truth:<17}{verdict:<6}{ours:<58}"
                  f"{took:<9}{theirs}")

    named_right = named(manifest, lzr["labels"])
    recorded = sum(case.ok for case in report.hard_cases)
    print()
    print(f"lzr -handshakes all  wall {lzr['wall']:6.1f} s (start-up {lzr['startup']:.1f} s, first SYN to last "
          f"record {lzr['identified']:.1f} s, wind-down {lzr['winddown']:.1f} s)")
    print(f"  services named right: {named_right}/{len(services)}; hard cases recorded as they are: "
          f"{recorded}/{len(report.hard_cases)}")
    if nmap:
        theirs = named(manifest, nmap["labels"])
        print(f"nmap -sV             wall {nmap['wall']:6.1f} s; services named right: {theirs}/{len(services)}")
        print(f"lzr / nmap wall time: 1/{nmap['wall'] / lzr['wall']:.1f} (target: 1/20 or less)")


def record_fields(record: dict | None, expect: dict) -> list[tuple[str, object]]:
    """The fields of lzr's record that the manifest has an expectation for, and its outcome."""
    if record is None:
        return [("record", None)]
    shown = [(field, record.get(field)) for field in expect]
    return shown + ([("outcome", record["outcome"])] if "outcome" in record else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", choices=("daemons", "catalogue"), default="daemons",
                        help="the real-daemon tier with its hard cases (default), or synthetic services")
    parser.add_argument("--seed", type=int, default=1, help="population seed (ports)")
    parser.add_argument("-t", type=float, help="lzr's -t (default: lzr's own)")
    parser.add_argument("--no-nmap", action="store_true", help="skip the nmap -sV run")
    parser.add_argument("--nmap-version-all", action="store_true",
                        help="nmap -sV --version-all: every probe on every port (catalogue: about 8 minutes)")
    parser.add_argument("--sweep", metavar="N,N,...",
                        help="catalogue: also run lzr with each of these --parallel values (how the default was chosen)")
    args = parser.parse_args()
    if args.sweep and args.population != "catalogue":
        parser.error("--sweep goes with --population catalogue")
    try:
        args.sweep = [int(n) for n in args.sweep.split(",")] if args.sweep else []
    except ValueError:
        parser.error(f"--sweep takes comma-separated integers, got {args.sweep!r}")
    if os.geteuid() != 0:
        sys.exit("bench/identify.py needs root (Mininet)")
    if not args.no_nmap and shutil.which("nmap") is None:
        sys.exit("nmap is not installed (ci/setup installs it)")
    (daemons_bench if args.population == "daemons" else catalogue_bench)(args)


if __name__ == "__main__":
    main()
