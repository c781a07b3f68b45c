"""The writer process: records from every worker -> JSON lines, ZGrab feed lines, the summary.

It is the only process that writes the output, and it only ever writes whole lines: a batch
is encoded first and then written completely, and SIGTERM (the coordinator's "exit now")
is only looked at between batches.
"""
from __future__ import annotations

import os
import signal
import time

import zmq

from lzr.config import ScanConfig
from lzr.fingerprint import UNKNOWN
from lzr.output import RecordEncoder, Summary, local_utc_offset_seconds, zgrab_feed_line
from lzr.runtime import frames
from lzr.runtime.processes import Endpoints, end_of_setup, pull, push

STATS_INTERVAL = 0.5


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def run_writer(cfg: ScanConfig, endpoints: Endpoints, started_at: float,
               input_sources: int) -> None:
    """`input_sources`: how many processes send INPUT_COUNTS (the feeder, or each sender)."""
    terminate = []
    signal.signal(signal.SIGTERM, lambda *_: terminate.append(True))
    ctx = zmq.Context()
    records_in = pull(ctx, endpoints.writer)
    coordinator = push(ctx, endpoints.coordinator)
    if cfg.output == "-":
        out_fd = 1
    else:
        out_fd = os.open(cfg.output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    end_of_setup()
    encoder = RecordEncoder(extended=cfg.extended,
                            utc_offset_seconds=local_utc_offset_seconds(time.time()))
    summary = Summary()
    written = counted = 0
    workers_done = inputs_counted = 0
    syned = answered = 0        # for the count of unanswered targets
    # Per worker: every answer captured before this has its record written (checkpoints).
    watermarks = dict.fromkeys(range(cfg.workers), float("-inf"))
    capture_over = False
    next_stats = 0.0
    # Done when every worker said so, the feeder (or every sender) sent its input counts and
    # the receiver its final counters.
    while (workers_done < cfg.workers or inputs_counted < input_sources
           or not capture_over) and not terminate:
        if records_in.poll(int(STATS_INTERVAL * 1000)):
            frame = records_in.recv()
            kind = frames.kind_of(frame)
            if kind == frames.WORKER_DONE:
                done = frames.unpack_stats(frame)
                syned += done.syned
                answered += done.answered
                workers_done += 1
            elif kind == frames.INPUT_COUNTS:
                counts = frames.unpack_stats(frame)
                summary.count_malformed_input(counts.malformed)
                summary.count_blocked(counts.blocked)
                syned += counts.targets
                inputs_counted += 1
            elif kind == frames.WATERMARK:
                mark = frames.unpack_stats(frame)
                watermarks[mark.worker] = mark.finished_before
            elif kind == frames.RECEIVER_STATS:
                summary.count_capture_drops(frames.unpack_stats(frame).capture_drops)
                capture_over = True
            elif kind == frames.RECORDS:
                lines, feed = [], []
                for record in frames.unpack_records(frame):
                    summary.count(record)
                    counted += 1
                    if cfg.only_data_record and not record.data:
                        continue
                    lines.append(encoder.encode(record))
                    if cfg.feed_zgrab and (cfg.feed_zgrab_unknown or record.fingerprint != UNKNOWN):
                        feed.append(zgrab_feed_line(record) + "\n")
                written += len(lines)
                _write_all(out_fd, b"".join(lines))
                if feed:
                    _write_all(1, "".join(feed).encode())
        now = time.monotonic()
        if now >= next_stats:
            coordinator.send(frames.pack_stats(frames.WriterStats(written, counted,
                                                                  min(watermarks.values()))))
            next_stats = now + STATS_INTERVAL
    if out_fd != 1:
        os.close(out_fd)
    coordinator.send(frames.pack_stats(frames.WriterStats(written, counted,
                                                          min(watermarks.values()))))
    if not terminate:
        summary.count_unanswered(max(0, syned - answered))
        coordinator.send(frames.pack_text(frames.SUMMARY, summary.format(time.time() - started_at)))
    coordinator.close()
    records_in.close(linger=0)
    ctx.term()
