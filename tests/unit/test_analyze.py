"""`lzr analyze` on generated datasets whose truth is known: totals, protocols, ports, inputs."""
import gzip
import io
import json
import os

import pytest

from lzr.analyze.run import Options, analyze
from lzr.analyze.synth import Generator
from lzr.analyze.tables import ports_for_share

SMALL_CHUNKS = 16 << 10


def _generate(path, records=3000, seed=7, **options):
    """Writes a dataset (gzip when the name ends in .gz) and returns its truth."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as out:
        generator = Generator(out, seed=seed, ports_per_everywhere_host=40, **options)
        generator.write_records(records)
    return generator.truth


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("analyze") / "scan.json"
    truth = _generate(path)
    return path, truth


def _check_against(summary, truth, include_pseudo=True):
    assert summary["records"] == truth.records
    assert summary["zero_window_records"] == truth.zero_window_records
    assert summary["acking_firewall_records"] == truth.acking_firewall_records
    assert summary["services"] == truth.services[include_pseudo]
    assert summary["hosts"] == truth.hosts[include_pseudo]
    assert summary["pseudo_service_hosts"] == truth.pseudo_service_hosts
    expected = truth.protocol_table(include_pseudo)
    found = {label: {key: entry[key] for key in ("services", "hosts", "ports", "on_iana_port")}
             for label, entry in summary["protocols"].items()}
    for label, entry in found.items():
        if entry["on_iana_port"] is None:       # no primary port: the truth counts 0 on it
            entry["on_iana_port"] = 0
    assert found == expected
    assert {int(port): entry["services"] for port, entry in summary["ports"].items()} == \
        dict(truth.ports[include_pseudo])


def test_counts_match_the_truth(dataset):
    path, truth = dataset
    assert truth.pseudo_service_hosts > 0 and truth.zero_window_records > 0
    summary = analyze([str(path)]).summary
    _check_against(summary, truth)
    assert summary["malformed_lines"] == 0 and summary["malformed"]["first"] is None


def test_exclude_pseudo_leaves_their_services_out_of_every_table(dataset):
    path, truth = dataset
    summary = analyze([str(path)], Options(exclude_pseudo=True)).summary
    _check_against(summary, truth, include_pseudo=False)
    assert summary["services"] < truth.services[True]


def test_small_chunks_and_one_thread_give_the_same_report(dataset):
    path, _ = dataset
    whole = analyze([str(path)]).summary
    chunked = analyze([str(path)], Options(threads=1, chunk_bytes=SMALL_CHUNKS)).summary
    assert chunked == whole


def test_gzip_plain_and_many_files_read_as_one(dataset, tmp_path):
    path, truth = dataset
    lines = path.read_bytes().splitlines(keepends=True)
    third = len(lines) // 3
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(b"".join(lines[:third])))
    (tmp_path / "b.json").write_bytes(b"".join(lines[third:2 * third]))
    # A name that does not say gzip: the magic bytes do.
    (tmp_path / "c.data").write_bytes(gzip.compress(b"".join(lines[2 * third:])))
    report = analyze([str(tmp_path / "a.json.gz"), str(tmp_path / "b.json"),
                      str(tmp_path / "c.data")], Options(chunk_bytes=SMALL_CHUNKS))
    _check_against(report.summary, truth)
    assert [entry["gzip"] for entry in report.summary["files"]] == [True, False, True]
    assert sum(entry["lines"] for entry in report.summary["files"]) == len(lines)


def test_concatenated_gzip_members_are_all_read(dataset, tmp_path):
    path, truth = dataset
    data = path.read_bytes()
    middle = data.index(b"\n", len(data) // 2) + 1
    joined = tmp_path / "joined.json.gz"
    joined.write_bytes(gzip.compress(data[:middle]) + gzip.compress(data[middle:]))
    _check_against(analyze([str(joined)]).summary, truth)


def test_stdin(dataset):
    path, truth = dataset
    stdin = io.BytesIO(gzip.compress(path.read_bytes()))
    _check_against(analyze(["-"], stdin=stdin).summary, truth)


def test_extended_records_give_the_same_tables(tmp_path):
    plain, extended = tmp_path / "plain.json", tmp_path / "extended.json"
    truth = _generate(plain, records=1500, seed=3)
    _generate(extended, records=1500, seed=3, extended=True)
    assert b'"outcome":"zero-window"' in extended.read_bytes()
    first = analyze([str(plain)]).summary
    second = analyze([str(extended)]).summary
    _check_against(second, truth)
    assert {key: value for key, value in first.items() if key != "files"} == \
        {key: value for key, value in second.items() if key != "files"}


def test_generated_malformed_lines_are_counted_with_the_first_line_number(tmp_path):
    path = tmp_path / "bad.json.gz"
    truth = _generate(path, records=4000, seed=11, malformed_share=0.004)
    assert sum(truth.malformed.values()) > 3
    summary = analyze([str(path)], Options(chunk_bytes=SMALL_CHUNKS)).summary
    _check_against(summary, truth)
    malformed = summary["malformed"]
    assert {kind: malformed[kind] for kind in truth.malformed} == dict(truth.malformed)
    assert summary["malformed_lines"] == sum(truth.malformed.values())
    assert malformed["first"]["file"] == str(path)
    assert malformed["first"]["line"] == truth.first_malformed_line


def test_shares_are_fractions_and_top_ports_descend(dataset):
    path, _ = dataset
    summary = analyze([str(path)], Options(top=4)).summary
    for entry in summary["protocols"].values():
        counts = [count for _, count in entry["top_ports"]]
        assert counts == sorted(counts, reverse=True) and len(counts) <= 4
        share = entry["share_on_iana_port"]
        assert share is None or 0 <= share <= 1
    for entry in summary["ports"].values():
        assert entry["share_iana"] is None or 0 <= entry["share_iana"] <= 1
    services = [entry["services"] for entry in summary["ports"].values()]
    assert services == sorted(services, reverse=True)
    json.dumps(summary)


def test_ports_for_share():
    assert ports_for_share([50, 30, 10, 10]) == 3
    assert ports_for_share([100]) == 1
    assert ports_for_share([1] * 10) == 9
    assert ports_for_share([]) == 0


def test_spool_is_removed(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr("lzr.analyze.sources._spool_parent", lambda: str(tmp_path))
    path, _ = dataset
    analyze([str(path)], Options(chunk_bytes=SMALL_CHUNKS))
    assert os.listdir(tmp_path) == []


def test_a_small_memory_limit_gives_the_same_report(dataset):
    path, _ = dataset
    assert analyze([str(path)], Options(memory_limit="200MB", threads=1)).summary == \
        analyze([str(path)]).summary


def test_the_progress_line_says_how_far_and_how_long(dataset, monkeypatch):
    from lzr.analyze import run
    from lzr.analyze.sources import Source
    path, _ = dataset
    source = Source(str(path))
    source.bytes_read = 3_000_000_000
    source.raw_bytes_read = os.path.getsize(path) // 4
    clock = iter([100.0, 110.0])
    monkeypatch.setattr(run.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    meter = run._Progress([source], out)
    meter.update()
    assert out.getvalue() == ("lzr analyze: 10 s, 3.00 GB of text read (300 MB/s), 25% of the "
                              "input, about 30 s left\n")
