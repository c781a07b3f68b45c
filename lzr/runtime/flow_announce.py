"""Flow announcements: how shards tell the RST guard (nfqueue mode) which flows they own.

A shard announces a flow as opened just before it sends the flow's SYN (or its first packet
for a ZMap-fed target) and as closed when the flow's record is final. Announcements travel in
batched binary frames over a ZeroMQ PUSH socket to the PULL socket the guard binds.

Frame layout (network byte order):

    header  B  frame version (FRAME_VERSION = 1)
            B  IP version of every address in the frame (4 or 6)
            H  number of records
    record  B  operation (OPEN = 1, CLOSE = 0)
            H  target port
            H  local port
            4s or 16s  target address
"""
from __future__ import annotations

import itertools
import os
import struct
import tempfile

import zmq

FRAME_VERSION = 1
OPEN = 1
CLOSE = 0
HEADER = struct.Struct("!BBH")
RECORD_HEAD = struct.Struct("!BHH")
ADDRESS_BYTES = {4: 4, 6: 16}
MAX_RECORDS = 0xFFFF
DEFAULT_BATCH = 512
_endpoint_counter = itertools.count()


class FrameError(ValueError):
    """A frame that does not follow the layout above."""


def default_endpoint() -> str:
    """An ipc:// endpoint private to this process (its pid in the name)."""
    name = f"lzr-rstguard-{os.getpid()}-{next(_endpoint_counter)}.ipc"
    return f"ipc://{os.path.join(tempfile.gettempdir(), name)}"


def encode_frame(version: int, records: list[tuple[int, int, int, int]]) -> bytes:
    """records: (operation, target address as int, target port, local port)."""
    if version not in ADDRESS_BYTES:
        raise ValueError(f"IP version must be 4 or 6, not {version!r}")
    if len(records) > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} records per frame")
    width = ADDRESS_BYTES[version]
    parts = [HEADER.pack(FRAME_VERSION, version, len(records))]
    for operation, addr, target_port, local_port in records:
        parts.append(RECORD_HEAD.pack(operation, target_port, local_port))
        parts.append(addr.to_bytes(width, "big"))
    return b"".join(parts)


def decode_frame(frame: bytes) -> tuple[int, list[tuple[int, int, int, int]]]:
    """(IP version, records) of a frame; FrameError if it is malformed."""
    if len(frame) < HEADER.size:
        raise FrameError("frame shorter than its header")
    frame_version, version, count = HEADER.unpack_from(frame)
    if frame_version != FRAME_VERSION:
        raise FrameError(f"unknown frame version {frame_version}")
    if version not in ADDRESS_BYTES:
        raise FrameError(f"unknown IP version {version}")
    width = ADDRESS_BYTES[version]
    record_size = RECORD_HEAD.size + width
    if len(frame) != HEADER.size + count * record_size:
        raise FrameError(f"frame of {len(frame)} bytes does not hold {count} records")
    records = []
    offset = HEADER.size
    for _ in range(count):
        operation, target_port, local_port = RECORD_HEAD.unpack_from(frame, offset)
        if operation not in (OPEN, CLOSE):
            raise FrameError(f"unknown operation {operation}")
        start = offset + RECORD_HEAD.size
        records.append((operation, int.from_bytes(frame[start:start + width], "big"),
                        target_port, local_port))
        offset += record_size
    return version, records


def flow_key(target_addr: int, target_port: int, local_port: int) -> int:
    """One integer per flow: a set of ints is far smaller than a set of tuples."""
    return (target_addr << 32) | (target_port << 16) | local_port


class FlowTable:
    """The guard's view of the flows the shards own."""

    def __init__(self) -> None:
        self._keys: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def apply(self, frame: bytes) -> list[tuple[int, int, int]]:
        """Open and close the frame's flows; returns the opened ones (target, port, local port)."""
        _, records = decode_frame(frame)
        opened = []
        for operation, addr, target_port, local_port in records:
            if operation == OPEN:
                self._keys.add(flow_key(addr, target_port, local_port))
                opened.append((addr, target_port, local_port))
            else:
                self._keys.discard(flow_key(addr, target_port, local_port))
        return opened

    def owns(self, target_addr: int, target_port: int, local_port: int) -> bool:
        return flow_key(target_addr, target_port, local_port) in self._keys


class FlowAnnouncer:
    """A shard's side: collect open/close announcements and send them in frames.

        announcer = FlowAnnouncer(guard.announce_endpoint, version=4)
        announcer.opened(target_addr, target_port, local_port)
        announcer.flush()          # before sending the SYNs of this batch
        ...
        announcer.closed(target_addr, target_port, local_port)
        announcer.close()

    Sending never blocks: if the guard stops reading, frames beyond the high-water mark are
    dropped and counted in `dropped_frames` (their flows' RSTs then pass unguarded).
    """

    def __init__(self, endpoint: str, version: int, context: zmq.Context | None = None,
                 batch: int = DEFAULT_BATCH) -> None:
        if version not in ADDRESS_BYTES:
            raise ValueError(f"IP version must be 4 or 6, not {version!r}")
        self.version = version
        self.batch = min(batch, MAX_RECORDS)
        self.dropped_frames = 0
        self._records: list[tuple[int, int, int, int]] = []
        self._socket = (context or zmq.Context.instance()).socket(zmq.PUSH)
        self._socket.sndhwm = 10_000
        self._socket.linger = 1000
        self._socket.connect(endpoint)

    def __enter__(self) -> "FlowAnnouncer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def opened(self, target_addr: int, target_port: int, local_port: int) -> None:
        self._add(OPEN, target_addr, target_port, local_port)

    def closed(self, target_addr: int, target_port: int, local_port: int) -> None:
        self._add(CLOSE, target_addr, target_port, local_port)

    def flush(self) -> None:
        if not self._records:
            return
        frame = encode_frame(self.version, self._records)
        self._records = []
        try:
            self._socket.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            self.dropped_frames += 1

    def close(self) -> None:
        if self._socket.closed:
            return
        self.flush()
        self._socket.close()

    def _add(self, operation: int, target_addr: int, target_port: int, local_port: int) -> None:
        self._records.append((operation, target_addr, target_port, local_port))
        if len(self._records) >= self.batch:
            self.flush()
