"""The progress fields (one measurement for the progress line and the status file) and the
summary's counts as the metadata file reads them back from the summary's text."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from lzr.config import ScanConfig
from lzr.output import Record, Summary
from lzr.output.record import Outcome
from lzr.runtime.frames import FeederStats, SenderStats, WorkerStats
from lzr.runtime.runfiles import ProgressMeter, iso_time


def worker(index: int, sent: int, admitted: int, in_flight: int) -> WorkerStats:
    return WorkerStats(worker=index, sent=sent, synacks=admitted, data=admitted // 2,
                       admitted=admitted, answered=admitted, records=admitted - in_flight,
                       identified=admitted // 4, in_flight=in_flight, pending=0,
                       unanswered_held=0, finished_before=0.0, backlog=0.0, done=False)


def test_the_meter_sums_workers_and_measures_the_rate_over_the_last_interval():
    meter = ProgressMeter(ScanConfig(send_syns=True, rate=100, timeout=2, retries=1), 1000.0)
    first = meter.sample(1002.0, [worker(0, 300, 100, 10), worker(1, 100, 60, 5)], None, 140)
    assert (first.sent, first.targets, first.synacks, first.in_flight, first.written) == (
        400, 160, 160, 15, 140)
    assert first.send_rate == 200.0 and first.remaining is None     # input size not known yet
    feeder = FeederStats(lines=400, targets=400, malformed=0, blocked=0, total=0, finished=True)
    second = meter.sample(1004.0, [worker(0, 500, 200, 1), worker(1, 300, 100, 0)], feeder, 290,
                          drops=3)
    assert second.send_rate == 200.0 and second.elapsed == 4.0
    # 100 targets left at min(rate, 300 / 4 s) = 75/s, then -t x (-rn + 1) for the last ones.
    assert second.remaining == 100 / 75 + 2 * 2
    assert second.line() == ("0:00:04 sent 800 (200 pps); targets 300; answered 300; "
                             "SYN-ACKs 300; data 150; identified 75; in flight 1; written 290; "
                             "drops 3; ETA 0:00:05")


def test_the_eta_counts_the_senders_and_the_connections_queued_at_addresses():
    meter = ProgressMeter(ScanConfig(targets=("10.0.0.0/24",), ports=(80,), rate=100, timeout=2,
                                     retries=1), 1000.0)
    queued = worker(0, 0, 0, 50)._replace(backlog=30.0)
    ranges = FeederStats(lines=0, targets=200, malformed=0, blocked=0, total=256, finished=False)
    senders = [SenderStats(0, 150, 300, False), SenderStats(1, 50, 100, False)]
    progress = meter.sample(1004.0, [queued], ranges, 0, senders)
    assert (progress.sent, progress.targets) == (400, 200)
    # 56 targets left at 50/s, then the address whose queue takes 30 s, longer than 2 x 2 s.
    assert progress.remaining == 56 / 50 + 30.0


def test_the_summary_parses_back_from_what_it_prints():
    summary = Summary()
    base = Record("192.0.2.1", "192.0.2.9", 80, 40000, 1, 2, 3, 64, 0, True, True, False,
                  False, False, True, 0, "http", 0, "data", b"HTTP/1.1 200 OK",
                  outcome=Outcome.IDENTIFIED)
    for label in ("http", "http", "ssh"):
        summary.count(dataclasses.replace(base, fingerprint=label))
    summary.count(dataclasses.replace(base, fingerprint="unknown", data=b"", rst=True,
                                      outcome=Outcome.RST))
    summary.count_malformed_input(2)
    parsed = Summary.parse(summary.format(3.5))
    assert parsed.counters == summary.counters and parsed.counters["MalformedInput"] == 2
    assert parsed.outcomes == {Outcome.IDENTIFIED: 3, Outcome.RST: 1}
    assert parsed.labels == {"http": 2, "ssh": 1, "unknown": 1}
    assert Summary.parse(Summary().format(0)).counters == Summary().counters


def test_iso_time_has_the_zone_and_milliseconds():
    parsed = datetime.fromisoformat(iso_time(1_700_000_000.25))
    assert parsed.timestamp() == 1_700_000_000.25 and parsed.utcoffset() is not None
