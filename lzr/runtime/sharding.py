"""Which shard owns a target, and which local ports each shard may use.

The feeder and the receiver both call `shard_of`, so every packet of a target reaches the one
process that holds its state. A shard owns whole addresses, not address:port pairs: the
per-host connection cap then holds for the address across all shards, and the answers to
ACKing-firewall probes (from random ports of the same address) reach the shard that sent them.
The hash is fixed arithmetic (not Python's salted `hash`), so it is the same in every process.
"""
_MASK64 = (1 << 64) - 1


def shard_of(addr: int, shards: int) -> int:
    """Stable shard index of target address `addr` among `shards` (splitmix-style mixing)."""
    h = ((addr ^ (addr >> 64)) * 0x9E3779B97F4A7C15) & _MASK64
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) & _MASK64
    h ^= h >> 29
    return h % shards


def port_slices(low: int, high: int, shards: int) -> list[range]:
    """Split the local port range [low, high] into `shards` disjoint, nearly equal ranges."""
    total = high - low + 1
    bounds = [low + total * i // shards for i in range(shards + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(shards)]
