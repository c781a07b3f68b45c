"""What a silent port costs, and what stopping early costs in services named.

    .venv/bin/python bench/silent_ports.py [--wait 3] [--table FILE] [--no-daemons]
                                           [--write-answers tests/data/answers/debian-daemons.json]

1. Measure: every synthetic service of lzr_sim (and every real Debian daemon that is
   installed, `"daemon": true`; root) runs on loopback; each is sent the probe of every
   handshake of `-handshakes all` on its own connection, and what comes first is written
   down: data (and how long after the probe), a close, or nothing within --wait seconds.
2. Replay: the engine, with a fake clock, scans one target per service whose peer answers
   each probe as measured (plus a port that ACKs and never speaks, and an SSH server whose
   banner comes after 4 s), under each candidate setting; for each it prints the services
   named right, when the last one was named, and when the silent port and the slow banner
   ended. Packets take 10 ms each way.

The candidates are LZR's timing (an ACKed probe retransmitted after -t, no stop), no
retransmission of an ACKed probe, stopping after N silent client-first probes, adaptive
answer waits from the round trip, and a --target-timeout budget. -t 5 -rt 1 -rn 1 throughout.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lzr.config import ScanConfig  # noqa: E402
from lzr.fingerprint import fingerprint  # noqa: E402
from lzr.handshakes import DEFAULT_ORDER, REGISTRY  # noqa: E402
from lzr.wire.segment import FIN  # noqa: E402
from tests.engine.peers import TARGET, Answer, FakeNet, Peer, silent_acker  # noqa: E402

LOOPBACK = "127.0.0.1"
SILENT_PORT, SLOW_BANNER_PORT = 60001, 60002
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
PREFIX = 11     # the probes of -handshakes all differ in their first 11 bytes (or are equal)


# ---- 1. measuring the services ----------------------------------------------------------

def start_services(daemons: bool) -> tuple[subprocess.Popen, list[tuple[str, int]]]:
    from lzr_sim.services import SERVICES
    from lzr_sim.daemons import DAEMONS
    spec = [{"address": LOOPBACK, "port": 0, "protocol": label} for label in sorted(SERVICES)]
    if daemons and os.geteuid() == 0:
        spec += [{"address": LOOPBACK, "port": 41000 + i, "protocol": label, "daemon": True}
                 for i, (label, daemon) in enumerate(sorted(DAEMONS.items()))
                 if daemon.path() is not None]
    proc = subprocess.Popen([sys.executable, "-m", "lzr_sim.services.serve", "--spec-json",
                             json.dumps(spec)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        proc.kill()
        sys.exit(f"the services runner did not start: {line}")
    names = [("daemon " if entry.get("daemon") else "") + entry["protocol"] for entry in spec]
    return proc, list(zip(names, map(int, line[2:])))


async def first_event(port: int, probe: bytes, wait: float) -> dict:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    started = time.monotonic()
    try:
        if probe:
            writer.write(probe)
            await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), wait)
        latency = round(time.monotonic() - started, 4)
        return {"kind": "data", "data": data.hex(), "after": latency} if data else {
            "kind": "close", "after": latency}
    except asyncio.TimeoutError:
        return {"kind": "silent"}
    except ConnectionError:
        return {"kind": "close", "after": round(time.monotonic() - started, 4)}
    finally:
        writer.close()


async def measure_all(services: list[tuple[str, int]], wait: float) -> dict:
    limit = asyncio.Semaphore(200)
    probes = {name: REGISTRY[name].probe(LOOPBACK) for name in dict.fromkeys(DEFAULT_ORDER)}

    async def one(port: int, name: str) -> dict:
        async with limit:
            return await first_event(port, probes[name], wait)

    table = {}
    for service, port in services:
        answers = await asyncio.gather(*(one(port, name) for name in probes))
        table[service] = dict(zip(probes, answers))
    return table


# ---- 2. replaying them to the engine --------------------------------------------------

def peer_answer(answers: dict, addr: int):
    """A fake peer at `addr` answering each probe as the service did (looked up by the
    probe's start: probes that start alike are the same bytes)."""
    text = ".".join(str(b) for b in addr.to_bytes(4, "big"))
    by_prefix = {}
    for name, event in answers.items():
        by_prefix.setdefault(REGISTRY[name].probe(text)[:PREFIX], event)

    def answer(payload: bytes, conn):
        event = by_prefix[payload[:PREFIX]]
        if event["kind"] == "data":
            return Answer(ack=bool(payload), data=bytes.fromhex(event["data"]), delay=event["after"])
        if event["kind"] == "close":
            return Answer(ack=bool(payload), close=FIN, delay=event["after"])
        return Answer(ack=bool(payload))
    return answer


def replay(cfg, table: dict) -> dict:
    net = FakeNet(cfg)
    ports = {}
    for port, (service, answers) in enumerate(sorted(table.items()), 1000):
        net.peer(TARGET + port, port, Peer(answer=peer_answer(answers, TARGET + port)))
        ports[TARGET + port, port] = service
        net.syn(TARGET + port, port)
    net.peer(TARGET, SILENT_PORT, Peer(answer=silent_acker))
    net.peer(TARGET + 1, SLOW_BANNER_PORT, Peer(answer=lambda p, c: Answer(
        ack=bool(p), data=SSH_BANNER, delay=4.0)))
    net.syn(TARGET, SILENT_PORT)
    net.syn(TARGET + 1, SLOW_BANNER_PORT)
    net.run()
    named, last, ends, missed = 0, 0.0, {}, []
    for record in net.records:
        seconds = record.timestamp_ns / 1e9
        ends[record.sport] = max(t for t, s in net.sent if s.dport == record.sport)
        service = ports.get((int.from_bytes(bytes(map(int, record.saddr.split("."))), "big"),
                             record.sport))
        if service is not None and record.fingerprint == service.removeprefix("daemon "):
            named += 1
            last = max(last, seconds)
        elif service is not None:
            missed.append(f"{service} ({record.fingerprint})")
    slow = next(r for r in net.records if r.sport == SLOW_BANNER_PORT)
    return {"named": named, "last": last, "silent": ends[SILENT_PORT],
            "slow banner": slow.fingerprint == "ssh", "missed": sorted(missed)}


def candidates() -> list[tuple[str, object]]:
    base = dataclasses.replace(ScanConfig(handshakes=DEFAULT_ORDER, workers=1).engine_config(),
                               silent_probes=0, answer_rtts=0, answer_floor=0,
                               skip_banner_waits=False, first_round_lingers=False)
    lzr_timing = dataclasses.replace(base, acked_retries=1)
    rows = [("lzr's defaults", ScanConfig(handshakes=DEFAULT_ORDER, workers=1).engine_config()),
            ("ACKed probe sent again after -t, no stop (before)", lzr_timing),
            ("ACKed probe waits -t once, no stop", base)]
    for n in (2, 3, 4, 6):
        rows.append((f"... and stop after {n} silent probes", dataclasses.replace(base, silent_probes=n)))
    for stop in (0, 3, 12, 20):
        for rtts, floor in ((8, 0.25), (8, 0.5), (8, 1.0)):
            rows.append((f"later answers wait {rtts} rtt >= {floor:g} s, " + (
                f"stop after {stop}" if stop else "no stop"), dataclasses.replace(
                    base, silent_probes=stop, answer_rtts=rtts, answer_floor=floor)))
            rows.append(("... and one banner window", dataclasses.replace(
                rows[-1][1], skip_banner_waits=True)))
            rows.append(("... and the first round lingers without its slots", dataclasses.replace(
                rows[-1][1], first_round_lingers=True)))
    for budget in (10.0, 20.0):
        rows.append((f"no stop, --target-timeout {budget:g}", dataclasses.replace(base, target_timeout=budget)))
    return rows


def write_answers(table: dict, path: Path, source: str) -> None:
    """The real daemons' answers in the form of tests/data/answers: per daemon, each distinct
    answer (hex, at most 1024 bytes) with the handshakes that drew it."""
    daemons = {}
    for service, answers in sorted(table.items()):
        if service.startswith("daemon "):
            by_data: dict[str, list[str]] = {}
            for name, event in answers.items():
                if event["kind"] == "data":
                    by_data.setdefault(event["data"][:2048], []).append(name)
            daemons[service.removeprefix("daemon ")] = [
                {"handshakes": names, "data": data} for data, names in by_data.items()]
    path.write_text(json.dumps({"source": source, "daemons": daemons}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=3.0, help="seconds a probe waits for a first answer")
    parser.add_argument("--table", type=Path, help="read the measured table from FILE, or write it there")
    parser.add_argument("--no-daemons", action="store_true", help="synthetic services only")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the services each setting misses")
    parser.add_argument("--write-answers", type=Path, metavar="FILE",
                        help="also write the real daemons' answers for the fingerprint tests")
    parser.add_argument("--source", default="captured from Debian daemons on loopback by "
                        "bench/silent_ports.py", help="the `source` line of --write-answers")
    args = parser.parse_args()
    if args.table and args.table.exists():
        table = json.loads(args.table.read_text())
    else:
        proc, services = start_services(not args.no_daemons)
        try:
            table = asyncio.run(measure_all(services, args.wait))
        finally:
            proc.terminate()
            proc.wait()
        if args.table:
            args.table.write_text(json.dumps(table))
    if args.write_answers:
        write_answers(table, args.write_answers, args.source)
    own = sum(fingerprint(bytes.fromhex(a[s.removeprefix("daemon ")]["data"]),
                          [s.removeprefix("daemon ")]) == s.removeprefix("daemon ")
              for s, a in table.items() if a.get(s.removeprefix("daemon "), {}).get("kind") == "data")
    silent = {s: sum(e["kind"] == "silent" for e in a.values()) for s, a in table.items()}
    print(f"{len(table)} services measured ({sum(s.startswith('daemon') for s in table)} real daemons), "
          f"{own} named by their own probe; silent to most probes: "
          + ", ".join(f"{s} {n}" for s, n in sorted(silent.items(), key=lambda i: -i[1])[:8]))
    print()
    print(f"{'setting':<52}{'named':>8}{'last named':>12}{'silent port':>13}{'slow banner':>13}")
    for title, cfg in candidates():
        result = replay(cfg, table)
        print(f"{title:<52}{result['named']:>4}/{len(table):<3}{result['last']:>11.1f}s"
              f"{result['silent']:>12.1f}s{'caught' if result['slow banner'] else 'MISSED':>13}")
        if args.verbose:
            print("    missed: " + (", ".join(result["missed"]) or "none"))


if __name__ == "__main__":
    main()
