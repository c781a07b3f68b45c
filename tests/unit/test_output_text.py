"""Timestamps, Go durations, the ZGrab feed line and the summary
(docs/lzr-reference.md §4.1 Timestamp, §4.4, §4.5)."""
import dataclasses
import json

import pytest

from lzr.output import go_duration, zgrab_feed_line
from lzr.output.record import Outcome, Record
from lzr.output.summary import LZR_COUNTERS, Summary
from lzr.output.timestamps import GO_ZERO_TIME, TimestampFormatter, zone_suffix

SECOND = 1_000_000_000
NOV_14_2023 = 1_700_000_000 * SECOND  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize("offset, unix_ns, text", [
    (0, NOV_14_2023, "2023-11-14T22:13:20Z"),
    (0, NOV_14_2023 + 123_456_789, "2023-11-14T22:13:20.123456789Z"),
    (0, NOV_14_2023 + 500_000_000, "2023-11-14T22:13:20.5Z"),
    (0, NOV_14_2023 + 120_000, "2023-11-14T22:13:20.00012Z"),
    (0, NOV_14_2023 + 1, "2023-11-14T22:13:20.000000001Z"),
    (3 * 3600 + 1800, NOV_14_2023 + 393_362_549, "2023-11-15T01:43:20.393362549+03:30"),
    (-7 * 3600, NOV_14_2023 + 10_000_000, "2023-11-14T15:13:20.01-07:00"),
    (-(9 * 3600 + 30 * 60), NOV_14_2023, "2023-11-14T12:43:20-09:30"),
    (14 * 3600, 0, "1970-01-01T14:00:00+14:00"),
    (0, -1, "1969-12-31T23:59:59.999999999Z"),
    (0, None, "0001-01-01T00:00:00Z"),
    (3600, None, "0001-01-01T00:00:00Z"),          # Go's zero time is in UTC
])
def test_rfc3339_nano_like_go(offset, unix_ns, text):
    assert TimestampFormatter(offset).format(unix_ns) == text


def test_formatter_cache_does_not_leak_between_seconds():
    formatter = TimestampFormatter(0)
    assert formatter.format(NOV_14_2023 + 5) == "2023-11-14T22:13:20.000000005Z"
    assert formatter.format(NOV_14_2023 + SECOND) == "2023-11-14T22:13:21Z"
    assert formatter.format(NOV_14_2023 - 1) == "2023-11-14T22:13:19.999999999Z"
    assert formatter.format(None) == GO_ZERO_TIME


def test_zone_suffix():
    assert zone_suffix(0) == "Z"
    assert zone_suffix(19800) == "+05:30"
    assert zone_suffix(-3600) == "-01:00"


@pytest.mark.parametrize("nanoseconds, text", [
    (0, "0s"), (1, "1ns"), (999, "999ns"), (1_000, "1µs"), (1_500, "1.5µs"),
    (1_000_000, "1ms"), (150_000_000, "150ms"), (1_234_567, "1.234567ms"),
    (SECOND, "1s"), (1_500_000_000, "1.5s"), (59 * SECOND, "59s"), (60 * SECOND, "1m0s"),
    (62_500_000_000, "1m2.5s"), (3600 * SECOND, "1h0m0s"), (3723 * SECOND + 1, "1h2m3.000000001s"),
    (-1_500_000_000, "-1.5s"), (100 * 3600 * SECOND, "100h0m0s"),
])
def test_go_duration(nanoseconds, text):
    assert go_duration(nanoseconds) == text


def record(**fields) -> Record:
    base = Record(
        saddr="192.0.2.7", daddr="198.51.100.1", sport=8443, dport=41000, seqnum=1, acknum=2,
        window=512, ttl=64, counter=0, ack=True, acked=False, syn=False, rst=False, fin=False,
        push=False, handshake_num=0, fingerprint="unknown", timestamp_ns=NOV_14_2023,
    )
    return dataclasses.replace(base, **fields)


def test_zgrab_feed_line():
    assert zgrab_feed_line(record(fingerprint="tls")) == "192.0.2.7,,tls,8443"
    assert zgrab_feed_line(record()) == "192.0.2.7,,unknown,8443"


def counts_after(*records: Record) -> dict:
    summary = Summary()
    for each in records:
        summary.count(each)
    return summary.counters


def bumped(counters: dict) -> set:
    return {name for name, value in counters.items() if value}


def test_summary_data_record():
    counters = counts_after(record(data=b"HTTP/1.1 200", acked=True, expected_r_to_lzr="data",
                                   fingerprint="http"))
    assert bumped(counters) == {"TotalResponses", "ACKed", "Data", "Resp_ack"}


def test_summary_zero_window_synack():
    counters = counts_after(record(window=0, syn=True))
    assert bumped(counters) == {"TotalResponses", "ZeroWindow"}


def test_summary_rst_and_fin():
    assert bumped(counts_after(record(rst=True, ack=False))) == {"TotalResponses", "Rst"}
    assert bumped(counts_after(record(fin=True))) == {"TotalResponses", "Fin", "Resp_ack"}


def test_summary_unanswered_syn():
    counters = counts_after(record(expected_r_to_lzr="sa", ack=False, syn=True))
    assert bumped(counters) == {"TotalResponses", "No_SYNACK"}


def test_summary_acking_firewall_bumps_only_its_counters():
    counters = counts_after(record(acking_firewall=True, window=0, acked=True, rst=True,
                                   fin=True, data=b"x", expected_r_to_lzr="sa"))
    assert bumped(counters) == {"TotalResponses", "HyperACKtive"}


def test_summary_totals_and_labels():
    summary = Summary()
    for label in ["http", "tls", "http", "unknown"]:
        summary.count(record(fingerprint=label))
    summary.count_malformed_input()
    summary.count_blocked(3)
    summary.count_unanswered(7)
    assert summary.counters["TotalResponses"] == 4
    assert summary.counters["MalformedInput"] == 1 and summary.counters["Blocked"] == 3
    assert summary.counters["Unanswered"] == 7
    text = summary.format(62.5)
    lines = text.splitlines()
    assert lines[0] == "Runtime: 1m2.5s"
    assert list(json.loads(lines[1])) == list(LZR_COUNTERS) + [
        "MalformedInput", "Blocked", "Unanswered", "CaptureDrops"]
    assert lines[1].startswith('{"TotalResponses":4,"ZeroWindow":0,')
    assert lines[2:] == ["http: 2", "tls: 1", "unknown: 1"]
    assert text.endswith("\n")


def test_summary_merge():
    first, second = Summary(), Summary()
    first.count(record(fingerprint="ssh", data=b"SSH-2.0"))
    second.count(record(fingerprint="ssh", rst=True))
    second.count_blocked()
    first.merge(second)
    assert first.counters["TotalResponses"] == 2 and first.counters["Blocked"] == 1
    assert first.counters["Data"] == 1 and first.counters["Rst"] == 1
    assert first.labels["ssh"] == 2


def test_summary_counts_outcomes_in_their_order():
    summary, other = Summary(), Summary()
    for outcome in (Outcome.RST, Outcome.IDENTIFIED, Outcome.IDENTIFIED):
        summary.count(record(outcome=outcome))
    other.count(record(outcome=Outcome.ACKING_FIREWALL))
    other.count(record())          # a record without an outcome is not counted there
    summary.merge(other)
    lines = summary.format(1.0).splitlines()
    assert lines[2] == 'Outcomes: {"identified":2,"rst":1,"acking-firewall":1}'
    assert summary.counters["TotalResponses"] == 5
