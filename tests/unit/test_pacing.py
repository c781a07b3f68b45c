"""The token bucket (GCRA) the sender and the engine's host rate share."""
import pytest

from lzr.pacing import Gcra, TokenBucket


def test_a_full_bucket_gives_a_burst_then_one_token_per_spacing():
    bucket = Gcra(rate=10, burst=4)
    tat, starts, now = Gcra.FULL, [], 0.0
    while len(starts) < 8:
        if bucket.has(tat, now):
            tat = bucket.take(tat, now)
            starts.append(round(now, 6))
        else:
            now += bucket.wait(tat, now)
    assert starts == [0.0] * 4 + [0.1, 0.2, 0.3, 0.4]


def test_the_bucket_is_full_again_after_burst_spacings():
    bucket = Gcra(rate=10, burst=4)
    tat = Gcra.FULL
    for _ in range(4):
        tat = bucket.take(tat, 1.0)
    assert not bucket.is_full(tat, 1.35) and bucket.is_full(tat, 1.4)
    assert bucket.tokens(tat, 1.2) == pytest.approx(2.0)


def test_token_bucket_starts_empty_and_grants_what_is_there():
    bucket = TokenBucket(rate=100, burst=5, now=0.0)
    assert bucket.take(10, 0.0) == 0
    assert bucket.wait(3, 0.0) == pytest.approx(0.03)
    assert bucket.take(10, 0.03) == 3
    assert bucket.take(10, 1.0) == 5          # never more than the burst
    assert bucket.wait(1, 1.0) == pytest.approx(0.01)


@pytest.mark.parametrize("rate, burst", [(0, 1), (10, 0.5)])
def test_bad_constants_are_refused(rate, burst):
    with pytest.raises(ValueError):
        Gcra(rate, burst)
