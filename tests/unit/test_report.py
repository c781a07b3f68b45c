"""The accuracy report on hand-made manifests and record sets."""
import json

import pytest

from lzr_sim.manifest import from_dict
from lzr_sim.report import MISSING, draw, evaluate, load_records

A, B, C = "198.18.0.10", "198.18.0.11", "198.18.0.12"


@pytest.fixture
def manifest():
    return from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "h1", "address": A, "node": "h1", "services": [
            {"port": 8080, "protocol": "http"},
            {"port": 8443, "protocol": "tls"},
            {"port": 2222, "protocol": "ssh"},
        ]},
        {"name": "h2", "address": B, "node": "h2", "services": [
            {"port": 9000, "protocol": "http"},
            {"port": 1234, "protocol": None, "behaviour": "rst", "identifiable": False,
             "expect": {"RST": True, "fingerprint": "unknown"}},
        ]},
        {"name": "h3", "address": C, "node": "h3", "behaviour": "zero-window", "services": [
            {"port": 80, "protocol": None, "identifiable": False,
             "expect": {"window": 0, "fingerprint": "unknown"}},
        ]},
    ]})


def record(address, port, fingerprint="unknown", number=0, **fields):
    return {"saddr": address, "sport": port, "fingerprint": fingerprint, "HandshakeNum": number, **fields}


def test_perfect_scan(manifest):
    records = [record(A, 2222, "ssh", 0), record(A, 8080, "http", 1), record(A, 8443, "tls", 2),
               record(B, 9000, "http", 1), record(B, 1234, RST=True), record(C, 80, window=0)]
    report = evaluate(manifest, records, ["wait", "http", "tls"])
    assert report.recall == 1.0 and report.precision == 1.0
    assert all(case.ok for case in report.hard_cases)
    assert report.coverage == [pytest.approx(1 / 4), pytest.approx(3 / 4), 1.0]
    assert report.needed["http"] == {2: 2}


def test_wrong_label_costs_recall_of_truth_and_precision_of_label(manifest):
    records = [record(A, 2222, "ssh"), record(A, 8080, "http", 1), record(A, 8443, "http", 1),
               record(B, 9000, "http", 1)]
    report = evaluate(manifest, records, ["wait", "http", "tls"])
    assert report.scores["tls"].recall == 0.0
    assert report.scores["http"].precision == pytest.approx(2 / 3)
    assert report.scores["http"].recall == 1.0
    assert report.confusion["tls"] == {"http": 1}
    assert report.recall == pytest.approx(3 / 4)
    assert report.precision == pytest.approx(3 / 4)


def test_missing_records_and_labels_on_hard_cases(manifest):
    records = [record(A, 8080, "http"), record(C, 80, "http", window=0)]
    report = evaluate(manifest, records)
    assert report.confusion["ssh"] == {MISSING: 1}
    assert report.scores["http"].precision == pytest.approx(1 / 2)
    zero_window = next(case for case in report.hard_cases if case.address == C)
    assert zero_window.behaviour == "zero-window"
    assert not zero_window.ok and zero_window.mismatches == {"fingerprint": ("unknown", "http")}
    rst = next(case for case in report.hard_cases if case.address == B)
    assert rst.record is None and not rst.ok


def test_labels_on_unlisted_targets_are_false_positives(manifest):
    records = [record(A, 8080, "http"), record("198.18.0.99", 80, "http"), record(A, 1, "unknown")]
    report = evaluate(manifest, records)
    assert len(report.unlisted_records) == 2
    assert report.scores["http"].precision == pytest.approx(1 / 2)


def test_several_records_per_target_use_the_labelled_one(manifest):
    records = [record(A, 8080, "unknown", 0), record(A, 8080, "http", 1), record(A, 8080, "unknown", 2)]
    report = evaluate(manifest, records, ["wait", "http", "tls"])
    assert report.scores["http"].found == 1
    assert report.needed["http"] == {2: 1}


def test_provenance_field_wins_over_handshake_number(manifest):
    report = evaluate(manifest, [record(A, 8443, "tls", 0, handshake="tls")], ["wait", "http", "tls"])
    assert report.needed["tls"] == {3: 1}


def test_markdown_names_the_figures(manifest):
    records = [record(A, 2222, "ssh"), record(A, 8443, "http", 1), record(B, 1234, RST=True)]
    text = evaluate(manifest, records, ["wait", "http", "tls"]).markdown()
    assert "| tls | 1 | 0 | 0.0% |" in text
    assert "| tls | http ×1 |" in text
    assert f"| {B}:1234 | rst |" in text and "as expected" in text
    assert "k=1 (`wait`)" in text


def test_load_records_reads_json_lines_and_rejects_garbage(tmp_path):
    path = tmp_path / "out.json"
    path.write_text(json.dumps(record(A, 80, "http")) + "\n\n" + json.dumps(record(B, 81)) + "\n")
    assert [r["sport"] for r in load_records(path)] == [80, 81]
    path.write_text("{not json\n")
    with pytest.raises(ValueError, match="out.json:1"):
        load_records(path)


def test_draw_writes_three_plots(manifest, tmp_path):
    report = evaluate(manifest, [record(A, 8080, "http", 1)], ["wait", "http", "tls"])
    paths = draw(report, tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["confusion.png", "coverage.png", "per-protocol.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_outcomes_are_read_from_the_records(manifest):
    records = [record(A, 2222, "ssh", outcome="identified"), record(B, 1234, RST=True, outcome="rst"),
               record(A, 8080, "http", outcome="identified"), record(C, 80, window=0)]
    report = evaluate(manifest, records, ["wait", "http"])
    assert report.outcomes == {"identified": 2, "rst": 1}
    assert "- records: 4, identified 2, rst 1" in report.markdown()
