"""Which worker owns a target, and which local ports the SYNs and each worker may use.

The feeder and the receiver both call `owner_of`, so every packet of a target reaches the one
process that holds its state. A worker owns whole addresses, not address:port pairs: the
per-host connection cap then holds for the address across all workers, and the answers to
ACKing-firewall probes (from random ports of the same address) reach the worker that sent them.
The hash is fixed arithmetic (not Python's salted `hash`), so it is the same in every process.

When lzr sends the SYNs itself, the local port range is cut in two: the lower half for the
stateless SYNs (a target's port there is a keyed hash, validation.py), the upper half shared
out among the workers for the connections their engines open (handshakes after the first,
ACKing-firewall probes). The receiver tells the two apart by the port alone.
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


def port_plan(low: int, high: int, workers: int,
              stateless: bool) -> tuple[range | None, list[range]]:
    """(the stateless SYNs' ports or None, each worker's ports) within [low, high]."""
    if not stateless:
        return None, port_slices(low, high, workers)
    middle = low + (high - low + 1) // 2
    return range(low, middle), port_slices(middle, high, workers)
