"""Hypothesis: fingerprint names anything without raising, from a closed set of answers."""
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.fingerprint import fingerprint
from lzr.handshakes import REGISTRY
from lzr.handshakes.base import never

RULE_LABELS = {name for name, hs in REGISTRY.items() if hs.match is not never} | {"ssl"}
CORPUS = [path.read_bytes() for path in sorted(
    (Path(__file__).resolve().parents[1] / "data" / "responses").glob("*/*.bin")
)]

names = st.sampled_from(sorted(REGISTRY))
responses = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    # Real responses cut, extended and spliced, to reach the rules' deeper branches.
    st.tuples(st.sampled_from(CORPUS), st.binary(max_size=64), st.integers(0, 1100)).map(
        lambda parts: parts[0][: parts[2]] + parts[1]
    ),
    st.tuples(st.sampled_from(CORPUS), st.sampled_from(CORPUS)).map(lambda pair: b"".join(pair)),
)


def is_known(label: str) -> bool:
    if label in RULE_LABELS or label in ("unknown", "smtp-ftp"):
        return True
    parts = label.split("-")
    return len(parts) > 1 and all(part in RULE_LABELS for part in parts)


@settings(max_examples=400, deadline=None)
@given(responses, st.lists(names, max_size=4))
def test_fingerprint_returns_known_labels(data, priority):
    label = fingerprint(data, priority)
    assert is_known(label), label
    assert label == fingerprint(data, priority)


@settings(max_examples=200, deadline=None)
@given(responses)
def test_priority_only_picks_among_what_matched(data):
    without = fingerprint(data, [])
    for name in REGISTRY:
        with_priority = fingerprint(data, [name])
        assert with_priority in (without, name) or "-" in without
