"""The receiver process: captured frames -> parsed segments -> the worker that owns each target.

It does as little as possible per packet. The kernel's BPF filter keeps only TCP that is not a
bare SYN, of the scan's IP version, addressed to the scanner, to a local port a flow of ours
can have; here a segment is parsed, dropped if its source is not allowed by the do-not-scan
lists, and routed.
Segments travel to workers in batches, one frame per worker per capture burst.
"""
from __future__ import annotations

import time
from typing import Callable

import zmq

from lzr.runtime import frames
from lzr.runtime.packet_socket import PacketSocket
from lzr.runtime.processes import Endpoints, end_of_setup, push
from lzr.runtime.owners import owner_of
from lzr.wire import MalformedPacket, parse_frame
from lzr.wire.bpf import capture_program

STATS_INTERVAL = 0.5
BURST = 512


def run_receiver(interface: str, version: int, scanner_addr: int, local_ports: range | None,
                 workers: int, endpoints: Endpoints, allowed: Callable[[int], bool]) -> None:
    """`local_ports` None accepts any destination port (ZMap chose the ports of its SYNs)."""
    ctx = zmq.Context()
    to_worker = [push(ctx, endpoints.worker_packets(i)) for i in range(workers)]
    coordinator = push(ctx, endpoints.coordinator)
    sock = PacketSocket(interface, program=capture_program(version, scanner_addr, local_ports))
    end_of_setup()
    coordinator.send(frames.pack_stats(frames.Ready(frames.READY_RECEIVER)))
    received = routed = dropped = 0
    next_stats = 0.0
    while True:
        captured = sock.receive(BURST, timeout=STATS_INTERVAL)
        batches: dict[int, list] = {}
        for buf in captured:
            try:
                segment = parse_frame(buf)
            except MalformedPacket:
                segment = None
            if segment is None or not allowed(segment.saddr):
                dropped += 1
                continue
            batches.setdefault(owner_of(segment.saddr, workers), []).append(segment)
        for index, segments in batches.items():
            to_worker[index].send(frames.pack_segments(segments))
            routed += len(segments)
        received += len(captured)
        now = time.monotonic()
        if now >= next_stats:
            coordinator.send(frames.pack_stats(frames.ReceiverStats(received, routed, dropped)))
            next_stats = now + STATS_INTERVAL
