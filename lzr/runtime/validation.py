"""Stateless validation: is a SYN-ACK or RST an answer to a SYN this scan sent?

As in ZMap, the scan keeps nothing per SYN. Each target's address and port go through a
keyed hash (SipHash-1-3) under a secret drawn when the scan starts; the 64-bit result fixes
the SYN: its sequence number is the low 32 bits, its local port is taken from the high 32
bits within the port range the SYNs use. An answer names the 4-tuple (target address and port,
our address and local port), so the receiver recomputes the hash from it and checks:

* the local port is the one the hash gives for this target (a forger must guess it), and
* a SYN-ACK or a RST refusing the SYN acknowledges exactly the sequence number plus one, or
* any later segment of the connection acknowledges something within the bytes we could have
  sent on it (`in_window`).

Retransmitted SYNs are the same SYN again (same port, same sequence number), as LZR's are, so
their answers validate alike. The scanner's own address is the same for every SYN of a scan
and needs no place in the hash.

`siphash` is the reference definition over bytes (tested against the published SipHash-2-4
vectors); `Validation.expect` is the scalar form the receiver uses per packet and
`Validation.expect_many` the numpy form the senders use per batch. All three agree bit for bit.
"""
from __future__ import annotations

import secrets

import numpy as np

MASK64 = (1 << 64) - 1
MOD32 = 0xFFFFFFFF
SYN, RST, ACK = 0x02, 0x04, 0x10
# What a captured segment is to the receiver (`Validation.classify`).
ANSWER, SEGMENT, FORGED = "answer", "segment", "forged"
COMPRESSION_ROUNDS, FINAL_ROUNDS = 1, 3      # SipHash-1-3
KEY_BYTES = 16


def _rotl(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & MASK64


def _rounds(v0: int, v1: int, v2: int, v3: int, count: int) -> tuple[int, int, int, int]:
    for _ in range(count):
        v0 = (v0 + v1) & MASK64
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & MASK64
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & MASK64
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & MASK64
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _words(data: bytes) -> list[int]:
    """The message blocks: whole 8-byte words, then the tail with the length in its top byte."""
    whole = len(data) - len(data) % 8
    words = [int.from_bytes(data[i:i + 8], "little") for i in range(0, whole, 8)]
    words.append(int.from_bytes(data[whole:], "little") | (len(data) & 0xFF) << 56)
    return words


def _hash_words(k0: int, k1: int, words: list[int], c: int, d: int) -> int:
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    for m in words:
        v3 ^= m
        v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, c)
        v0 ^= m
    v2 ^= 0xFF
    v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, d)
    return v0 ^ v1 ^ v2 ^ v3


def siphash(key: bytes, data: bytes, c: int = COMPRESSION_ROUNDS, d: int = FINAL_ROUNDS) -> int:
    """SipHash-c-d of `data` under the 16-byte `key` (the reference definition)."""
    if len(key) != KEY_BYTES:
        raise ValueError("SipHash keys are 16 bytes")
    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:], "little")
    return _hash_words(k0, k1, _words(data), c, d)


# --- the same over numpy arrays ----------------------------------------------------------------

def _rotl_many(x: np.ndarray, bits: int, scratch: np.ndarray) -> None:
    """x = rotl(x, bits), in place."""
    np.right_shift(x, np.uint64(64 - bits), out=scratch)
    np.left_shift(x, np.uint64(bits), out=x)
    np.bitwise_or(x, scratch, out=x)


def _rounds_many(v0, v1, v2, v3, scratch, count: int) -> None:
    for _ in range(count):
        v0 += v1
        _rotl_many(v1, 13, scratch)
        v1 ^= v0
        _rotl_many(v0, 32, scratch)
        v2 += v3
        _rotl_many(v3, 16, scratch)
        v3 ^= v2
        v0 += v3
        _rotl_many(v3, 21, scratch)
        v3 ^= v0
        v2 += v1
        _rotl_many(v1, 17, scratch)
        v1 ^= v2
        _rotl_many(v2, 32, scratch)


def siphash_many(k0: int, k1: int, words: list[np.ndarray | int], c: int = COMPRESSION_ROUNDS,
                 d: int = FINAL_ROUNDS) -> np.ndarray:
    """SipHash-c-d of many messages at once: `words` are their blocks as uint64 arrays (or one
    int for a block all messages share), the last block carrying the length as `_words` makes
    it."""
    count = next(len(w) for w in words if isinstance(w, np.ndarray))
    v0 = np.full(count, k0 ^ 0x736F6D6570736575, np.uint64)
    v1 = np.full(count, k1 ^ 0x646F72616E646F6D, np.uint64)
    v2 = np.full(count, k0 ^ 0x6C7967656E657261, np.uint64)
    v3 = np.full(count, k1 ^ 0x7465646279746573, np.uint64)
    scratch = np.empty(count, np.uint64)
    for m in words:
        m = np.uint64(m) if isinstance(m, int) else m
        v3 ^= m
        _rounds_many(v0, v1, v2, v3, scratch, c)
        v0 ^= m
    v2 ^= np.uint64(0xFF)
    _rounds_many(v0, v1, v2, v3, scratch, d)
    v0 ^= v1
    v0 ^= v2
    v0 ^= v3
    return v0


# --- the scan's validation ---------------------------------------------------------------------

class Validation:
    """The SYN a scan sends to each target, and the test its answers must pass.

    The hashed message is the target's address and port as little-endian bytes: 4 + 2 for
    IPv4 (one SipHash block), 16 + 2 for IPv6 (three).
    """

    def __init__(self, key: bytes, version: int, syn_ports: range) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the validation key is 16 bytes")
        if version not in (4, 6):
            raise ValueError(f"IP version must be 4 or 6, not {version!r}")
        if not syn_ports or syn_ports.step != 1:
            raise ValueError("the SYN port range must be a non-empty range with step 1")
        self.key = key
        self.version = version
        self.syn_ports = syn_ports
        self._k0 = int.from_bytes(key[:8], "little")
        self._k1 = int.from_bytes(key[8:], "little")
        self._first, self._count = syn_ports.start, len(syn_ports)

    @classmethod
    def fresh(cls, version: int, syn_ports: range) -> "Validation":
        """A validation under a new random secret (one per scan)."""
        return cls(secrets.token_bytes(KEY_BYTES), version, syn_ports)

    def _digest(self, addr: int, port: int) -> int:
        if self.version == 4:
            words = [addr | port << 32 | 6 << 56]
        else:
            words = [addr & MASK64, addr >> 64, port | 18 << 56]
        return _hash_words(self._k0, self._k1, words, COMPRESSION_ROUNDS, FINAL_ROUNDS)

    def expect(self, addr: int, port: int) -> tuple[int, int]:
        """(local port, sequence number) of our SYN to addr:port."""
        digest = self._digest(addr, port)
        return self._first + (digest >> 32) % self._count, digest & MOD32

    def expect_many(self, addrs: np.ndarray, ports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same for arrays of targets: IPv4 addresses as uint32 (or uint64), IPv6 as an
        (N, 2) uint64 array of (high, low) halves; ports as any unsigned integer array.
        Returns (local ports as uint16, sequence numbers as uint32)."""
        port_words = ports.astype(np.uint64)
        if self.version == 4:
            message = addrs.astype(np.uint64)
            message |= port_words << np.uint64(32)
            message |= np.uint64(6 << 56)
            words = [message]
        else:
            port_words |= np.uint64(18 << 56)
            words = [np.ascontiguousarray(addrs[:, 1]), np.ascontiguousarray(addrs[:, 0]),
                     port_words]
        digest = siphash_many(self._k0, self._k1, words)
        lports = (digest >> np.uint64(32)) % np.uint64(self._count) + np.uint64(self._first)
        return lports.astype(np.uint16), (digest & np.uint64(MOD32)).astype(np.uint32)

    def classify(self, seg, max_sent: int) -> str:
        """ANSWER: a SYN-ACK, or a RST refusing our SYN, that acknowledges exactly our SYN.
        SEGMENT: any later segment of such a connection that acknowledges no more than the
        `max_sent` bytes we can have sent on it (a bare RST, which acknowledges nothing, also
        passes: only a live connection can accept it), and every segment to a port outside
        the SYN ports (the engine's own connections). FORGED: anything else to a SYN port."""
        if seg.dport not in self.syn_ports:
            return SEGMENT
        lport, isn = self.expect(seg.saddr, seg.sport)
        if seg.dport != lport:
            return FORGED
        flags = seg.flags
        if not flags & ACK:
            return SEGMENT if flags & RST and not flags & SYN else FORGED
        acknowledged = (seg.ack - isn - 1) & MOD32
        if flags & SYN:
            return ANSWER if acknowledged == 0 and not flags & RST else FORGED
        if flags & RST and acknowledged == 0:
            return ANSWER
        return SEGMENT if acknowledged <= max_sent else FORGED

    def owns_flow(self, addr: int, port: int, local_port: int) -> bool:
        """Is (target, local port) the flow of one of this scan's SYNs?"""
        return local_port in self.syn_ports and self.expect(addr, port)[0] == local_port
