"""What a run says about itself, as ZMap does: the progress line, and the run files.

* The progress line on stderr, once a second, and `--status-updates-file FILE`, a CSV file with
  one row per second, carry the same fields, measured once by `ProgressMeter`.
* `--metadata-file FILE`: one JSON object written at the end: lzr's version and the flags,
  start and end times, the summary's counts (LZR's counters and ours, the outcomes, the
  labels), rates, and the interface, source address and gateway MAC the scan used.

The coordinator (runtime.scan) owns the clock and the statistics of its processes; this module
turns them into text and files.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import Iterable

from lzr import __version__
from lzr.config import ScanConfig
from lzr.output import Summary
from lzr.runtime import frames
from lzr.wire import format_addr


@dataclass(frozen=True)
class Progress:
    """The progress line's fields at one moment."""

    elapsed: float          # seconds since the scan started
    sent: int               # packets sent
    send_rate: float        # packets per second since the previous sample
    targets: int            # targets SYNed (lists, ranges) or handed to the engines (ZMap's)
    answered: int           # targets whose SYN a validated SYN-ACK or RST answered
    synacks: int
    data: int
    identified: int
    in_flight: int
    written: int            # records written
    drops: int              # captured frames the kernel dropped for lack of room
    remaining: float | None  # estimated seconds to the end; None while unknown

    def line(self) -> str:
        """The progress line as stderr shows it."""
        eta = "?" if self.remaining is None else clock(self.remaining)
        return (f"{clock(self.elapsed)} sent {self.sent} ({self.send_rate:,.0f} pps); "
                f"targets {self.targets}; answered {self.answered}; SYN-ACKs {self.synacks}; "
                f"data {self.data}; identified {self.identified}; in flight {self.in_flight}; "
                f"written {self.written}; drops {self.drops}; ETA {eta}")


# The status file's columns (ZMap's style of names), in the order of Progress's fields.
STATUS_COLUMNS = ("real-time", "time-elapsed", "sent-total", "sent-last-one-sec", "targets",
                  "answered", "synacks", "data", "identified", "in-flight", "written",
                  "capture-drops", "time-remaining")


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressMeter:
    """Samples the processes' statistics into Progress; the send rate is over the last interval."""

    def __init__(self, cfg: ScanConfig, started_at: float) -> None:
        self.cfg = cfg
        self.started_at = started_at
        self._last = (started_at, 0)        # (time, packets sent) at the previous sample

    def sample(self, now: float, worker_stats: Iterable[frames.WorkerStats],
               feeder: frames.FeederStats | None, written: int,
               sender_stats: Iterable[frames.SenderStats] = (), drops: int = 0) -> Progress:
        stats, senders = list(worker_stats), list(sender_stats)
        sent = sum(s.sent for s in stats) + sum(s.packets for s in senders)
        targets = sum(s.admitted for s in stats) + sum(s.targets for s in senders)
        last_time, last_sent = self._last
        rate = (sent - last_sent) / (now - last_time) if now > last_time else 0.0
        self._last = (now, sent)
        elapsed = now - self.started_at
        return Progress(
            elapsed=elapsed, sent=sent, send_rate=rate, targets=targets,
            answered=sum(s.answered for s in stats), synacks=sum(s.synacks for s in stats),
            data=sum(s.data for s in stats), identified=sum(s.identified for s in stats),
            in_flight=sum(s.in_flight for s in stats), written=written, drops=drops,
            remaining=self._remaining(feeder, targets, elapsed,
                                      max((s.backlog for s in stats), default=0.0)))

    def _remaining(self, feeder: frames.FeederStats | None, targets: int, elapsed: float,
                   backlog: float) -> float | None:
        """The targets left at the pace so far, then the longest of the connections queued
        at their addresses (`backlog`) and the last SYNs' wait."""
        if feeder is None or not (feeder.total or feeder.finished):
            return None
        cfg = self.cfg
        total = feeder.total or feeder.targets
        pace = min(cfg.rate, targets / elapsed) if targets and elapsed > 0 else cfg.rate
        if pace <= 0:
            return None
        cooldown = cfg.cooldown if cfg.waits_cooldown else 0.0
        tail = max(cfg.timeout * (cfg.retries + 1) + cooldown, backlog)
        return max(0, total - targets) / pace + tail


def iso_time(unix_seconds: float) -> str:
    """Local time in ISO 8601 with its offset and milliseconds, e.g. 2024-05-01T12:00:00.250+02:00."""
    local = time.localtime(unix_seconds)
    offset = local.tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    millis = int(round((unix_seconds % 1) * 1000)) % 1000
    return (time.strftime("%Y-%m-%dT%H:%M:%S", local)
            + f".{millis:03d}{sign}{hours:02d}:{minutes:02d}")


class RunFiles:
    """The status file while the scan runs, the metadata file at its end (each only if asked)."""

    def __init__(self, cfg: ScanConfig, started_at: float) -> None:
        self.cfg = cfg
        self.started_at = started_at
        self._status = None
        self._rows = None
        if cfg.status_updates_file:
            self._status = open(cfg.status_updates_file, "w", newline="")
            self._rows = csv.writer(self._status)
            self._rows.writerow(STATUS_COLUMNS)
            self._status.flush()

    def status(self, progress: Progress) -> None:
        """One row of the status file (none without --status-updates-file)."""
        if self._rows is None:
            return
        remaining = "" if progress.remaining is None else round(progress.remaining, 1)
        self._rows.writerow((
            iso_time(self.started_at + progress.elapsed), round(progress.elapsed, 3), progress.sent,
            round(progress.send_rate, 1), progress.targets, progress.answered, progress.synacks,
            progress.data, progress.identified, progress.in_flight, progress.written,
            progress.drops, remaining))
        self._status.flush()

    def finish(self, *, ended_at: float, exit_status: int,
               progress: Progress, summary_text: str | None, interface: str,
               source_addr: int, gateway_mac: bytes | None,
               receiver: frames.ReceiverStats, feeder: frames.FeederStats | None) -> None:
        """The last status row, then the metadata file (both only if asked)."""
        self.status(progress)
        self.close()
        if not self.cfg.metadata_file:
            return
        summary = Summary.parse(summary_text or "")
        started_at = self.started_at
        duration = max(ended_at - started_at, 1e-9)
        cfg = self.cfg
        metadata = {
            "lzr_version": __version__,
            "command_line": list(cfg.command_line),
            "flags": {field.name: _json_value(getattr(cfg, field.name))
                      for field in dataclasses.fields(cfg) if field.name != "command_line"},
            "start_time": iso_time(started_at),
            "end_time": iso_time(ended_at),
            "duration_seconds": round(duration, 3),
            "exit_status": exit_status,
            "completed": summary_text is not None and exit_status == 0,
            "interface": interface,
            "source_address": format_addr(cfg.version, source_addr),
            "gateway_mac": gateway_mac.hex(":") if gateway_mac else None,
            "summary": summary.counters,
            "outcomes": {str(outcome): count for outcome, count in summary.outcomes.items()},
            "labels": dict(summary.labels),
            "packets_sent": progress.sent,
            "targets": progress.targets,
            "answered": progress.answered,
            "synacks": progress.synacks,
            "data": progress.data,
            "identified": progress.identified,
            "records_written": progress.written,
            "input": None if feeder is None else {
                "lines": feeder.lines, "targets": feeder.targets,
                "malformed": feeder.malformed, "blocked": feeder.blocked},
            "receiver": receiver._asdict(),
            "rates": {
                "rate_limit_targets_per_second": cfg.rate if cfg.sends_syns else None,
                "packets_per_second": round(progress.sent / duration, 1),
                "targets_per_second": round(progress.targets / duration, 1),
                "records_per_second": round(progress.written / duration, 1),
            },
        }
        temporary = f"{cfg.metadata_file}.tmp"
        with open(temporary, "w") as fh:
            json.dump(metadata, fh, indent=2)
            fh.write("\n")
        os.replace(temporary, cfg.metadata_file)

    def close(self) -> None:
        if self._status is not None:
            self._status.close()
            self._status = self._rows = None


def _json_value(value):
    return list(value) if isinstance(value, tuple) else value
