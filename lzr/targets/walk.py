"""A range scan's walk, many targets at a time (numpy), shared out among parallel streams.

`RangeScan` (ranges.py) walks its slice of the permutation one target at a time. A sender
needs thousands per batch, and several senders share one slice: stream s of S takes the
slice's exponents s, s+S, s+2S, ... counted from where the scan starts (its resume position),
as ZMap's send threads interleave. A stream is cut into chunks of `chunk` steps. Chunk c
starts at the residue g^(e + S*chunk*c) mod p and its other residues are that times the
precomputed powers (g^S)^m, so any chunk can be computed again at any time: the SYN
retransmission pass recomputes its chunks instead of keeping their targets.

Chunks 0..c-1 of every stream together are the exponents [start, start + S*chunk*c) of the
slice, whatever their order in time: that is where a checkpoint taken after them resumes
(`position_after`).

The residues are products modulo a prime of up to 49 bits, beyond what uint64 holds; the
chunk's first residue, a Python integer, is split into limbs small enough that limb x power
fits in 64 bits, and the powers are precomputed times each limb's weight.
"""
from __future__ import annotations

import numpy as np

from lzr.targets.ranges import RangeScan, TargetSpace

MASK64 = (1 << 64) - 1


class SpaceArrays:
    """TargetSpace.target for arrays of indices: index -> (address, port)."""

    def __init__(self, space: TargetSpace) -> None:
        versions = {version for version, _, _ in space.intervals}
        self.version = versions.pop() if len(versions) == 1 else None
        if versions:
            raise ValueError("a vectorised walk needs a space of one IP version")
        self.port_count = len(space.ports)
        self.ports = np.array(space.ports, np.uint16)
        firsts = [first for _, first, _ in space.intervals]
        starts, total = [], 0
        for _, first, end in space.intervals:
            starts.append(total)
            total += end - first
        self.starts = np.array(starts, np.uint64)
        self.firsts_low = np.array([first & MASK64 for first in firsts], np.uint64)
        self.firsts_high = np.array([first >> 64 for first in firsts], np.uint64)

    def targets(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Addresses (uint32 for IPv4, an (N, 2) uint64 array of high and low halves for
        IPv6) and ports (uint16) of the targets numbered `indices` (uint64)."""
        if self.port_count == 1:
            address_index, ports = indices, np.zeros(len(indices), np.intp)
        else:
            address_index, ports = np.divmod(indices, np.uint64(self.port_count))
        if len(self.starts) == 1:
            offset = address_index
            low = offset + self.firsts_low[0]
            high = np.full(len(indices), self.firsts_high[0], np.uint64)
        else:
            slot = np.searchsorted(self.starts, address_index, side="right") - 1
            offset = address_index - self.starts[slot]
            low = offset + self.firsts_low[slot]
            high = self.firsts_high[slot].copy()
        if self.version == 4:
            addrs = low.astype(np.uint32)
        else:
            high += (low < offset).astype(np.uint64)    # the carry out of the low half
            addrs = np.stack((high, low), axis=1)
        return addrs, self.ports[ports]


class StreamWalk:
    """Stream `stream` of `streams` over a RangeScan's slice, from where the scan stands."""

    def __init__(self, scan: RangeScan, streams: int, stream: int, chunk: int) -> None:
        if not 0 <= stream < streams or chunk < 1:
            raise ValueError("need 0 <= stream < streams and chunk >= 1")
        cycle, begin, end = scan.slice
        self.streams, self.stream, self.chunk = streams, stream, chunk
        self.start = scan.position                 # where every stream starts, in the slice
        self.slice_length = end - begin
        remaining = self.slice_length - self.start - stream
        self.steps = (remaining + streams - 1) // streams if remaining > 0 and cycle else 0
        self.chunks = (self.steps + chunk - 1) // chunk
        self.space = SpaceArrays(scan.space)
        self.size = scan.space.size
        if not self.steps:
            return
        self.prime = prime = cycle.prime
        self._generator = cycle.generator
        self._first_exponent = cycle.offset + begin + self.start + stream
        self._chunk_stride = streams * chunk       # exponents between two chunks' starts
        step = pow(cycle.generator, streams, prime)
        powers, value = [], 1
        for _ in range(chunk):
            powers.append(value)
            value = value * step % prime
        bits = prime.bit_length()
        self._limb_bits = 64 - bits if bits > 32 else 32
        limbs = (bits + self._limb_bits - 1) // self._limb_bits
        self._tables = [np.array([(p << (self._limb_bits * k)) % prime for p in powers],
                                 np.uint64) for k in range(limbs)]
        self._prime = np.uint64(prime)

    def residues(self, c: int) -> np.ndarray:
        """The cycle's residues of chunk c of this stream."""
        first_step = c * self.chunk
        count = min(self.chunk, self.steps - first_step)
        residue = pow(self._generator, self._first_exponent + c * self._chunk_stride, self.prime)
        total = None
        mask = (1 << self._limb_bits) - 1
        for k, table in enumerate(self._tables):
            limb = residue >> (self._limb_bits * k) & mask
            if not limb:
                continue
            term = table[:count] * np.uint64(limb)
            term %= self._prime
            if total is None:
                total = term
            else:
                total += term
        if total is None:           # residues are never 0; only reachable with no limbs
            raise ArithmeticError("zero residue")
        if len(self._tables) > 1:
            total %= self._prime
        return total

    def targets(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """The targets of chunk c in walk order: (addresses, ports), see SpaceArrays.targets.
        Residues beyond the space (the prime is a little larger than the space) are skipped."""
        indices = self.residues(c)
        indices -= np.uint64(1)
        indices = indices[indices < np.uint64(self.size)]
        return self.space.targets(indices)

    def position_after(self, chunks: int) -> int:
        """The slice position (RangeScan.position) once chunks 0..chunks-1 of every stream
        are done."""
        return min(self.slice_length, self.start + chunks * self.streams * self.chunk)
