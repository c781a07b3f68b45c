"""Responses fingerprinted per second on one core, with the full rule set.

The mix is the response corpus (tests/data/responses) and as many random byte strings of
the same lengths, shuffled; each is named with the default `-handshakes http` priority, as
a scan writes its records. Target: at least 50,000 per second.
"""
import random
import time
from pathlib import Path

from lzr.fingerprint import fingerprint
from lzr.handshakes import REGISTRY

TARGET = 50_000
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "responses"
SECONDS = 2.0


def workload(seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    corpus = [path.read_bytes() for path in sorted(CORPUS.glob("*/*.bin"))]
    noise = [rng.randbytes(len(data)) for data in corpus]
    mix = corpus + noise
    rng.shuffle(mix)
    return mix


def main() -> None:
    mix = workload()
    priority = ("http",)
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        for data in mix:
            fingerprint(data, priority)
        done += len(mix)
    rate = done / elapsed
    verdict = "met" if rate >= TARGET else "NOT met"
    print(
        f"fingerprint: {rate:,.0f} responses/s ({len(REGISTRY)} handshakes, "
        f"{len(mix)} responses: corpus + random of equal lengths; target {TARGET:,}/s {verdict})"
    )


if __name__ == "__main__":
    main()
