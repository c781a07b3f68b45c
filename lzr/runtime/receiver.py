"""The receiver process: captured frames -> validated segments -> the worker that owns each target.

It does as little as possible per packet. The kernel's BPF filter keeps only TCP that is not a
bare SYN, of the scan's IP version, addressed to the scanner, to a local port a flow of ours
can have. Here a segment is parsed, dropped if its source is not allowed by the do-not-scan
lists, and, when lzr sent the SYNs itself, validated without any state (validation.py): a
SYN-ACK or RST that answers one of our SYNs is marked as an answer (it may start a target in
its worker), one that claims to and does not is a forgery, dropped and counted. The rest is
routed to the worker that owns the source address, whose engine accepts a segment only for a
connection it holds.

Segments travel to workers in batches, one frame per worker per capture burst. Every frame,
and a tick to every worker at least every TICK_INTERVAL, carries the watermark: the time up
to which the capture has been read. A worker gives an unanswered SYN up only once the
watermark has passed the SYN's deadline, so an answer in transit is never overtaken.

The kernel counts the frames it had no room for in the capture socket (PACKET_STATISTICS);
they are read with the other counters and reported (`capture_drops`), since a dropped SYN-ACK
is a service missed. When the coordinator says the scan's workers are done (STOP), the
receiver sends its final counters, to the coordinator and the writer, and ends.
"""
from __future__ import annotations

import time
from typing import Callable

import zmq

from lzr.runtime import frames
from lzr.runtime.owners import owner_of
from lzr.runtime.packet_socket import PacketSocket
from lzr.runtime.processes import Endpoints, end_of_setup, pull, push
from lzr.runtime.validation import ANSWER, FORGED, Validation
from lzr.wire import MalformedPacket, parse_frame
from lzr.wire.bpf import capture_program

STATS_INTERVAL = 0.25
TICK_INTERVAL = 0.05
BURST = 512


def run_receiver(interface: str, version: int, scanner_addr: int, local_ports: range | None,
                 workers: int, endpoints: Endpoints, allowed: Callable[[int], bool],
                 validation: Validation | None, max_sent: int) -> None:
    """`local_ports` None accepts any destination port (ZMap chose the ports of its SYNs).
    `validation` None: the SYNs were not ours (ZMap input), every segment goes through."""
    ctx = zmq.Context()
    to_worker = [push(ctx, endpoints.worker_packets(i)) for i in range(workers)]
    coordinator = push(ctx, endpoints.coordinator)
    writer = push(ctx, endpoints.writer)
    control = pull(ctx, endpoints.receiver_control)
    sock = PacketSocket(interface, program=capture_program(version, scanner_addr, local_ports))
    end_of_setup()
    coordinator.send(frames.pack_stats(frames.Ready(frames.READY_RECEIVER)))
    received = routed = dropped = forged = capture_drops = 0
    watermark = time.monotonic()
    next_stats = next_tick = 0.0
    classify = validation.classify if validation else None
    while True:
        before = time.monotonic()
        captured = sock.receive(BURST, timeout=TICK_INTERVAL)
        if len(captured) < BURST:
            watermark = before          # the socket was drained: nothing older is left in it
        batches: dict[int, tuple[list, list]] = {}
        for buf in captured:
            try:
                segment = parse_frame(buf)
            except MalformedPacket:
                segment = None
            if segment is None or not allowed(segment.saddr):
                dropped += 1
                continue
            kind = classify(segment, max_sent) if classify else None
            if kind == FORGED:
                forged += 1
                continue
            segments, answers = batches.setdefault(owner_of(segment.saddr, workers), ([], []))
            segments.append(segment)
            answers.append(kind == ANSWER)
        received += len(captured)
        now = time.monotonic()
        tick = now >= next_tick
        for index, sock_out in enumerate(to_worker):
            if index in batches:
                segments, answers = batches[index]
                sock_out.send(frames.pack_segments(segments, watermark, answers))
                routed += len(segments)
            elif tick:
                sock_out.send(frames.pack_segments((), watermark))
        if tick:
            next_tick = now + TICK_INTERVAL
        final = control.poll(0) and frames.kind_of(control.recv()) == frames.STOP
        if now >= next_stats or final:
            capture_drops += sock.statistics()[1]
            stats = frames.pack_stats(frames.ReceiverStats(received, routed, dropped, forged,
                                                           capture_drops, final))
            coordinator.send(stats)
            next_stats = now + STATS_INTERVAL
            if final:
                writer.send(stats)
                break
    sock.close()
    for sock_out in (coordinator, writer, *to_worker):
        sock_out.close()
    control.close(linger=0)
    ctx.term()
