"""Responses fingerprinted per second on one core, with the full rule set.

The mix is the response corpus (tests/data/responses) and as many random byte strings of
the same lengths, shuffled; each is named with the default `-handshakes http` priority, as
a scan writes its records. Target: at least 50,000 per second.

The machine may be shared, so the work runs in many short rounds and the best round is the
figure (as `timeit` does: other load only ever slows a round down); the median is printed
beside it.
"""
import random
import statistics
import time
from pathlib import Path

from lzr.fingerprint import fingerprint
from lzr.handshakes import REGISTRY

TARGET = 50_000
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "responses"
ROUNDS = 15
ROUND_SECONDS = 0.2


def workload(seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    corpus = [path.read_bytes() for path in sorted(CORPUS.glob("*/*.bin"))]
    noise = [rng.randbytes(len(data)) for data in corpus]
    mix = corpus + noise
    rng.shuffle(mix)
    return mix


def one_round(mix: list[bytes], priority: tuple[str, ...]) -> float:
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < ROUND_SECONDS:
        for data in mix:
            fingerprint(data, priority)
        done += len(mix)
    return done / elapsed


def main() -> None:
    mix = workload()
    rates = [one_round(mix, ("http",)) for _ in range(ROUNDS)]
    best = max(rates)
    verdict = "met" if best >= TARGET else "NOT met"
    print(
        f"fingerprint: {best:,.0f} responses/s best of {ROUNDS} rounds "
        f"(median {statistics.median(rates):,.0f}); {len(REGISTRY)} handshakes, "
        f"{len(mix)} responses: corpus + random of equal lengths; target {TARGET:,}/s {verdict}"
    )

if __name__ == "__main__":
    main()
