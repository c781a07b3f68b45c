"""Flow announcements: how workers tell the RST guard (nfqueue mode) which flows they own.

A worker announces a flow as opened just before it sends the flow's SYN (or its first packet
for a ZMap-fed target) and as closed when the flow's record is final. Announcements travel in
batched FLOWS frames (layout in lzr/runtime/frames.py) over a ZeroMQ PUSH socket to the PULL
socket the guard binds (in the scan's private socket directory, lzr.runtime.local_ipc).
"""
from __future__ import annotations

import zmq

from lzr.runtime.frames import FLOW_CLOSE, FLOW_OPEN, pack_flows, unpack_flows

DEFAULT_BATCH = 512


def flow_key(target_addr: int, target_port: int, local_port: int) -> int:
    """One integer per flow: a set of ints is far smaller than a set of tuples."""
    return (target_addr << 32) | (target_port << 16) | local_port


class FlowTable:
    """The guard's view of the flows the workers own."""

    def __init__(self) -> None:
        self._keys: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def apply(self, frame: bytes) -> list[tuple[int, int, int]]:
        """Open and close the frame's flows; returns the opened ones (target, port, local port)."""
        opened = []
        for operation, addr, target_port, local_port in unpack_flows(frame):
            if operation == FLOW_OPEN:
                self._keys.add(flow_key(addr, target_port, local_port))
                opened.append((addr, target_port, local_port))
            else:
                self._keys.discard(flow_key(addr, target_port, local_port))
        return opened

    def owns(self, target_addr: int, target_port: int, local_port: int) -> bool:
        return flow_key(target_addr, target_port, local_port) in self._keys


class FlowAnnouncer:
    """A worker's side: collect open/close announcements and send them in frames.

        announcer = FlowAnnouncer(guard.announce_endpoint)
        announcer.opened(target_addr, target_port, local_port)
        announcer.flush()          # before sending the SYNs of this batch
        ...
        announcer.closed(target_addr, target_port, local_port)
        announcer.close()

    Sending never blocks: if the guard stops reading, frames beyond the high-water mark are
    dropped and counted in `dropped_frames` (their flows' RSTs then pass unguarded).
    """

    def __init__(self, endpoint: str, context: zmq.Context | None = None,
                 batch: int = DEFAULT_BATCH) -> None:
        self.batch = batch
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
        self._add(FLOW_OPEN, target_addr, target_port, local_port)

    def closed(self, target_addr: int, target_port: int, local_port: int) -> None:
        self._add(FLOW_CLOSE, target_addr, target_port, local_port)

    def flush(self) -> None:
        if not self._records:
            return
        frame = pack_flows(self._records)
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
