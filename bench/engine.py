"""Engine throughput and memory, with no network at all.

1. Targets completed per second: ZMap SYN-ACKs go in; every target ACKs the probe and answers
   HTTP; the fake network hands the engine those two segments and takes the RST. The whole
   loop (engine, records, fake peers) runs on one core. Naming each answer (lzr.fingerprint
   with the full rule set) is part of it; the figure without it, the engine's own share, is
   printed beside it. The machine may be shared: the best of a few rounds counts.
2. Engine memory per in-flight target: 1,000,000 targets whose first packet is out and
   unanswered, measured with tracemalloc (the engine's tables, connections and timers);
   ZMap input (probes out) and -sendSYNs input (SYNs out, per-host accounting on).

    .venv/bin/python bench/engine.py [--targets N] [--in-flight N]
"""
import argparse
import gc
import random
import time
import tracemalloc

import lzr.engine.engine
from lzr.config import ScanConfig
from lzr.engine import Engine
from lzr.wire.segment import ACK, PSH, Segment

SCANNER = 0x0A000001
HTTP_OK = b"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Length: 0\r\n\r\n"


def new_engine() -> Engine:
    return Engine(ScanConfig(handshakes=("http",)).engine_config(), version=4, scanner_addr=SCANNER,
                  local_ports=range(32768, 61000), seed=1)


def throughput(count: int, batch: int = 1000) -> float:
    engine = new_engine()
    rng = random.Random(2)
    now = 1_700_000_000.0
    done = 0
    start = time.perf_counter()
    for first in range(0, count, batch):
        for i in range(first, min(first + batch, count)):
            engine.add_synack(0x14000000 + i, 8080, 40000 + i % 20000, rng.getrandbits(31),
                              rng.getrandbits(31), 29200, 0, now)
        now += 0.001
        # Each peer ACKs the probe, then answers it.
        probes = engine.take_sends()
        for s in probes:
            engine.receive(Segment(4, s.daddr, SCANNER, s.dport, s.sport, s.ack,
                                   s.seq + len(s.payload), ACK, 29200, 60, b""), now)
        for s in probes:
            engine.receive(Segment(4, s.daddr, SCANNER, s.dport, s.sport, s.ack,
                                   s.seq + len(s.payload), PSH | ACK, 29200, 60, HTTP_OK), now)
        engine.take_sends()     # the RSTs leave
        done += len(engine.take_records())
        engine.advance(now)
    elapsed = time.perf_counter() - start
    assert done == count and engine.in_flight == 0, (done, engine.in_flight)
    return count / elapsed


def engine_only(count: int) -> float:
    """Throughput with every answer labelled "http" without running the rules."""
    real = lzr.engine.engine.labels
    lzr.engine.engine.labels = lambda data, compat: ["http"]
    try:
        return throughput(count)
    finally:
        lzr.engine.engine.labels = real


def memory_per_target(count: int, zmap: bool) -> float:
    gc.collect()
    tracemalloc.start()
    engine = new_engine()
    base = tracemalloc.get_traced_memory()[0]
    rng = random.Random(3)
    now = 1_700_000_000.0
    for i in range(count):
        addr, port = rng.getrandbits(32), rng.randrange(1, 65536)
        if zmap:
            engine.add_synack(addr, port, rng.randrange(32768, 61000), rng.getrandbits(32),
                              rng.getrandbits(32), rng.choice((29200, 64240, 65535)),
                              rng.randrange(40, 128), now)
        else:
            engine.add_target(addr, port, now)
        if i % 1000 == 999:
            engine.take_sends()
            now += 0.0001
    engine.take_sends()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert engine.in_flight > 0.99 * count
    return used / engine.in_flight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200_000)
    parser.add_argument("--in-flight", type=int, default=1_000_000)
    args = parser.parse_args()
    rounds = 3
    full = max(throughput(args.targets) for _ in range(rounds))
    own = max(engine_only(args.targets) for _ in range(rounds))
    print(f"targets completed per second (http answers, one core): {full:,.0f}; "
          f"without naming the answers: {own:,.0f}")
    for zmap in (True, False):
        mode = "ZMap input" if zmap else "-sendSYNs input"
        print(f"engine memory per in-flight target ({args.in_flight:,} in flight, {mode}): "
              f"{memory_per_target(args.in_flight, zmap):.0f} bytes")


if __name__ == "__main__":
    main()
