"""A batch of targets in as few bytes as their values allow: the SYN ledger's storage.

List input's targets wait in the worker's ledger from their SYN until they answer or their
time is up, so the ledger holds every unanswered target of the last -t × (-rn + 1) seconds.
A batch (addresses as `lzr.targets.walk` gives them, uint32 for IPv4 and (N, 2) uint64 upper
and lower halves for IPv6, and uint16 ports) is packed into one `bytes`: a header (IP
version, targets), then one column per field, each with its own header (bytes interned,
table entries), in this order:

| column | value width | IPv4 | IPv6 |
|---|---|---|---|
| address | 4 bytes | yes | no |
| upper half of the address | 8 bytes | no | yes |
| lower half of the address | 8 bytes | no | yes |
| port | 2 bytes | yes | yes |

A column interns the upper `k` bits of its values (k a multiple of 16, up to the whole value):
a table of the distinct upper parts, then per target its index into the table in 0 (one
distinct value), 1, 2 or 4 bytes, then per target the rest of the value raw. k = 0 keeps the
column raw. Each batch takes, per column, the k whose bytes (table included) are fewest.
Target lists cluster, and then a target costs less: the upper half of addresses in a few /64s
costs a 1-byte index, in one /48 or /32 the 2 or 4 bytes below it; a lower half numbered low
(::1, ::2 ...) costs what its nonzero bytes need, in steps of 2; one port costs nothing.

A column never takes more than raw, so a target takes at most 6 bytes (IPv4) or 18 (IPv6)
plus the batch's header: the worst case, reached when neither the addresses nor the ports of a
batch share upper bits (random IPv6 addresses with random ports carry 18 bytes of information
each; no layout holds them in fewer). Decoding is exact: `unpack_targets(pack_targets(a, p))`
gives `a` and `p` back, in their order.
"""
from __future__ import annotations

import struct

import numpy as np

_HEADER = struct.Struct("<BI")          # IP version, targets
_COLUMN = struct.Struct("<BI")          # bytes interned (k / 8), distinct upper parts
_INDEX_TYPES = ((1, 0, None), (1 << 8, 1, "<u1"), (1 << 16, 2, "<u2"), (1 << 32, 4, "<u4"))
_WIDTHS = {4: (4, 2), 6: (8, 8, 2)}     # value bytes of each column, per IP version


def _index_type(distinct: int) -> tuple[int, str | None]:
    for limit, width, dtype in _INDEX_TYPES:
        if distinct <= limit:
            return width, dtype
    raise ValueError(f"{distinct} distinct values for one batch")


def _raw(values: np.ndarray, width: int) -> bytes:
    """The low `width` bytes of each uint64 value, little-endian."""
    return values.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :width].tobytes()


def _unraw(data: bytes, offset: int, count: int, width: int) -> np.ndarray:
    out = np.zeros((count, 8), np.uint8)
    out[:, :width] = np.frombuffer(data, np.uint8, count * width, offset).reshape(count, width)
    return out.view("<u8").ravel().astype(np.uint64, copy=False)


def _pack_column(values: np.ndarray, width: int) -> bytes:
    """One column: its header, table, indices and raw rests, interned as cheaply as possible."""
    count = len(values)
    order = np.argsort(values)
    ordered = values[order]
    best = (count * width, 0, 0)                    # (bytes, bytes interned, distinct)
    for interned in range(2, width + 1, 2):
        uppers = ordered >> np.uint64(8 * (width - interned))
        distinct = 1 + int(np.count_nonzero(uppers[1:] != uppers[:-1])) if count else 0
        size = distinct * interned + count * (_index_type(distinct)[0] + width - interned)
        if size < best[0]:
            best = (size, interned, distinct)
    _, interned, distinct = best
    parts = [_COLUMN.pack(interned, distinct)]
    rest = width - interned
    if interned:
        uppers = ordered >> np.uint64(8 * rest)
        starts = np.concatenate(([True], uppers[1:] != uppers[:-1]))
        parts.append(_raw(uppers[starts], interned))
        index_width, dtype = _index_type(distinct)
        if index_width:
            index = np.empty(count, np.int64)
            index[order] = np.cumsum(starts) - 1
            parts.append(index.astype(dtype).tobytes())
    if rest:
        parts.append(_raw(values & np.uint64((1 << 8 * rest) - 1), rest))
    return b"".join(parts)


def _unpack_column(data: bytes, offset: int, count: int, width: int) -> tuple[np.ndarray, int]:
    """(values, offset after the column)."""
    interned, distinct = _COLUMN.unpack_from(data, offset)
    offset += _COLUMN.size
    rest = width - interned
    values = np.zeros(count, np.uint64)
    if interned:
        table = _unraw(data, offset, distinct, interned)
        offset += distinct * interned
        index_width, dtype = _index_type(distinct)
        if index_width:
            index = np.frombuffer(data, dtype, count, offset)
            offset += count * index_width
            values = table[index]
        elif count:
            values[:] = table[0]
        values = values << np.uint64(8 * rest)
    if rest:
        values |= _unraw(data, offset, count, rest)
        offset += count * rest
    return values, offset


def pack_targets(addrs: np.ndarray, ports: np.ndarray) -> bytes:
    """Targets as `lzr.targets.walk` gives them, packed (the IP version follows from the
    addresses' shape)."""
    version = 6 if addrs.ndim == 2 else 4
    columns = [addrs[:, 0], addrs[:, 1]] if version == 6 else [addrs]
    columns.append(ports)
    return b"".join([_HEADER.pack(version, len(ports))]
                    + [_pack_column(np.asarray(values, np.uint64), width)
                       for values, width in zip(columns, _WIDTHS[version])])


def packed_count(data: bytes) -> int:
    """How many targets `pack_targets`' bytes hold."""
    return _HEADER.unpack_from(data)[1]


def unpack_targets(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, ports) of `pack_targets`' bytes, in the types and order it was given."""
    version, count = _HEADER.unpack_from(data)
    offset, columns = _HEADER.size, []
    for width in _WIDTHS[version]:
        values, offset = _unpack_column(data, offset, count, width)
        columns.append(values)
    *address, ports = columns
    if version == 4:
        return address[0].astype(np.uint32), ports.astype(np.uint16)
    return np.stack(address, axis=1), ports.astype(np.uint16)
