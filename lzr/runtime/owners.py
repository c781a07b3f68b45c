"""Which worker owns a target, and which local ports each worker may use.

The feeder and the receiver both call `owner_of`, so every packet of a target reaches the one
process that holds its state. A worker owns whole addresses, not address:port pairs: the
per-host connection cap then holds for the address across all workers, and the answers to
ACKing-firewall probes (from random ports of the same address) reach the worker that sent them.
The hash is fixed arithmetic (not Python's salted `hash`), so it is the same in every process.
"""
_MASK64 = (1 << 64) - 1


def owner_of(addr: int, workers: int) -> int:
    """Stable worker index of target address `addr` among `workers` (splitmix-style mixing)."""
    h = ((addr ^ (addr >> 64)) * 0x9E3779B97F4A7C15) & _MASK64
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) & _MASK64
    h ^= h >> 29
    return h % workers


def port_slices(low: int, high: int, workers: int) -> list[range]:
    """Split the local port range [low, high] into `workers` disjoint, nearly equal ranges."""
    total = high - low + 1
    bounds = [low + total * i // workers for i in range(workers + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(workers)]
