"""The rule index (fingerprint.candidates) against running every rule in name order.

A rule left out by its `needs` test must be one that would have returned None; these tests
run every rule on each response, as LZR does, and compare. Responses: the vectors of
docs/lzr-reference.md §3.2,
the corpus, corpus responses mutated at random (bytes changed, case flipped, substrings
that rules look for inserted, cut, spliced) and hypothesis data built from the same pieces.
"""
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_fingerprint import LZR_VECTORS

from lzr.fingerprint import HANDSHAKES_WITH_RULES, INSPECT_LIMIT, candidates, labels
from lzr.handshakes import REGISTRY

CORPUS = [path.read_bytes() for path in sorted(
    (Path(__file__).resolve().parents[1] / "data" / "responses").glob("*/*.bin")
)]
VECTORS = [data for data, _, _ in LZR_VECTORS]
# What the rules look for: their substrings, and the first bytes of real responses.
SUBSTRINGS = sorted({s for hs in HANDSHAKES_WITH_RULES for s in hs.needs.substrings})
PIECES = SUBSTRINGS + [data[:12] for data in CORPUS + VECTORS if data]


def every_rule(data: bytes) -> list[str]:
    """LZR's procedure: every rule on the bounded prefix, in name order."""
    data = bytes(data[:INSPECT_LIMIT])
    return [label for hs in REGISTRY.values() if (label := hs.match(data)) is not None]


def check(data: bytes) -> None:
    prefix = bytes(data[:INSPECT_LIMIT])
    admitted = candidates(prefix)
    for i, hs in enumerate(HANDSHAKES_WITH_RULES):
        if not admitted >> i & 1:
            assert hs.match(prefix) is None, (hs.name, hs.needs, data)
    assert labels(data) == every_rule(data), data


def flip_case(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data) + 1)
    end = rng.randrange(start, len(data) + 1)
    return data[:start] + data[start:end].swapcase() + data[end:]


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        kind = rng.randrange(6)
        if kind == 0 and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes((rng.randrange(256),)) + data[at + 1:]
        elif kind == 1:
            piece = rng.choice(PIECES)
            cut = rng.randrange(len(piece) + 1)
            data = data[:at] + (piece[cut:] if rng.random() < 0.3 else piece) + data[at:]
        elif kind == 2:
            data = data[:at] if rng.random() < 0.5 else data[at:]
        elif kind == 3:
            data = flip_case(data, rng)
        elif kind == 4:
            data = rng.choice(PIECES) + data
        else:
            data = data[:at] + rng.choice(CORPUS)
    return data


def test_vectors_and_corpus():
    for data in VECTORS + CORPUS:
        check(data)


def test_mutated_corpus():
    rng = random.Random(7)
    for _ in range(20_000):
        check(mutate(rng.choice(CORPUS + VECTORS), rng))


def test_every_byte_where_rules_test_one():
    # Every byte value at each offset a rule tests (0-5), in the first bytes of real responses.
    tested = {hs.needs.at for hs in HANDSHAKES_WITH_RULES if hs.needs.byte_in}
    heads = {data[:12] for data in CORPUS + VECTORS}
    for head in sorted(heads):
        for offset in tested:
            for byte in range(256):
                check(head[:offset] + bytes((byte,)) + head[offset + 1:])


def test_substrings_that_overlap():
    # A match hides the substrings that overlap it from the search: "httpong" still runs redis.
    for first in SUBSTRINGS:
        for second in SUBSTRINGS:
            for cut in range(len(first)):
                for data in (first[:cut] + second, first + second[cut:], first[cut:] + second):
                    check(data)
                    check(data.upper())


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=8)), max_size=6),
       st.randoms(use_true_random=False))
def test_pieces(parts, rng):
    data = b"".join(parts)
    check(data)
    check(flip_case(data, rng))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=1100))
def test_random_bytes(data):
    check(data)
