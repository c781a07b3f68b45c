"""A seeded pseudo-random permutation of 0..size-1 from a multiplicative cyclic group.

ZMap's idea (src/cyclic.c): for a prime p, the nonzero residues modulo p form a cyclic group of
order p-1. With a generator g, the powers g^k, g^(k+1), ... visit every residue 1..p-1 exactly
once per cycle of p-1 steps, each step being one multiplication. Taking p as the smallest prime
above the space size and skipping residues above it, element r stands for index r-1, and every
index is visited exactly once.

Unlike ZMap, which picks from four fixed primes, we compute the smallest prime above the size
(Miller-Rabin) and factor p-1 (Pollard's rho) to test generators, so little of the cycle is
skipped for any size. The seed picks the generator and the starting exponent through SHA-256,
so the same seed gives the same order on every machine and Python version.
"""
import hashlib
import math
from typing import NamedTuple

# Deterministic Miller-Rabin bases: correct for every n < 3.3e24 (Sorenson & Webster 2015).
_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)
MAX_PRIME = 3 * 10**24


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    for small in _SMALL_PRIMES:
        if n % small == 0:
            return n == small
    if n >= MAX_PRIME:
        raise ValueError("primality test is only deterministic below 3e24")
    odd, twos = n - 1, 0
    while odd % 2 == 0:
        odd, twos = odd // 2, twos + 1
    for base in _WITNESSES:
        x = pow(base, odd, n)
        if x in (1, n - 1):
            continue
        for _ in range(twos - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def next_prime_above(n: int) -> int:
    candidate = n + 1
    while not is_prime(candidate):
        candidate += 1
    return candidate


def _find_divisor(n: int) -> int:
    """A nontrivial divisor of the composite n (Pollard's rho, Floyd cycle finding)."""
    for increment in range(1, n):
        x = y = 2
        divisor = 1
        while divisor == 1:
            x = (x * x + increment) % n
            y = (y * y + increment) % n
            y = (y * y + increment) % n
            divisor = math.gcd(abs(x - y), n)
        if divisor != n:
            return divisor
    raise ArithmeticError(f"no divisor found for {n}")


def prime_factors(n: int) -> set[int]:
    """The distinct prime factors of n >= 1."""
    factors: set[int] = set()
    for small in _SMALL_PRIMES:
        while n % small == 0:
            factors.add(small)
            n //= small
    pending = [n] if n > 1 else []
    while pending:
        value = pending.pop()
        if is_prime(value):
            factors.add(value)
            continue
        divisor = _find_divisor(value)
        pending += [divisor, value // divisor]
    return factors


def _seeded_numbers(seed: int, purpose: str, size: int):
    """An endless, reproducible stream of large integers for one seed and purpose."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"lzr-cycle:{seed}:{size}:{purpose}:{counter}".encode()).digest()
        yield int.from_bytes(digest, "big")
        counter += 1


class Cycle(NamedTuple):
    """The walk over 0..size-1: residues g^(offset+k) mod prime for k = 0, 1, ..., prime-2."""

    size: int
    prime: int
    generator: int
    offset: int  # the exponent the walk starts at

    @property
    def order(self) -> int:
        """The number of steps in one full cycle."""
        return self.prime - 1


def make_cycle(size: int, seed: int) -> Cycle:
    """The permutation of 0..size-1 that `seed` selects (size >= 1)."""
    if size < 1:
        raise ValueError("a cycle needs at least one element")
    prime = next_prime_above(size)
    order = prime - 1
    if prime == 2:
        return Cycle(size, prime, 1, 0)
    # g generates the whole group iff g^(order/q) != 1 for every prime q dividing the order.
    cofactors = [order // q for q in prime_factors(order)]
    for number in _seeded_numbers(seed, "generator", size):
        candidate = 2 + number % (prime - 2)
        if all(pow(candidate, cofactor, prime) != 1 for cofactor in cofactors):
            generator = candidate
            break
    offset = next(_seeded_numbers(seed, "offset", size)) % order
    return Cycle(size, prime, generator, offset)
