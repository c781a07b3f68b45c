"""Bad input for `lzr analyze`: counted and reported, never a traceback; damaged gzip keeps what was read."""
import gzip
import json
import zlib

import pytest

from lzr.analyze import cli
from lzr.analyze.run import Options, analyze
from lzr.analyze.synth import Generator
from lzr.analyze.sources import InputError, expand


def _record(**fields) -> str:
    record = {"saddr": "192.0.2.1", "daddr": "198.51.100.7", "sport": 8080, "dport": 40000,
              "seqnum": 1, "acknum": 2, "window": 29200, "ttl": 50, "Counter": 0, "ACK": True,
              "ACKed": True, "SYN": False, "RST": False, "FIN": False, "PUSH": True,
              "HandshakeNum": 1, "fingerprint": "http", "Timestamp": "2020-08-12T10:00:00Z",
              "expectedRToLZR": "data", "data": "HTTP/1.1 200 OK\r\n\r\n"}
    for name, value in fields.items():
        if value is None:
            record.pop(name)
        else:
            record[name] = value
    return json.dumps(record, separators=(",", ":"))


GOOD = _record()
LINES = [
    (GOOD, None),
    ("not json at all", "not_json"),
    (_record(sport="8081"), "wrong_types"),                    # sport as a string
    (_record(sport=70000), "wrong_types"),                     # not a port
    (_record(sport=80.5), "wrong_types"),
    (_record(RST=0), "wrong_types"),
    (_record(SYN="true"), "wrong_types"),
    (_record(saddr=3232235777), "wrong_types"),                # an address as a number
    (_record(fingerprint=["http"]), "wrong_types"),
    (_record(window=-1), "wrong_types"),
    (_record(ackingFirewall="yes"), "wrong_types"),
    (_record(sport=None), "missing_fields"),
    (_record(RST=None, window=None), "missing_fields"),
    (_record(window=None).replace('"ttl"', '"window":null,"ttl"'), "missing_fields"),
    (_record(saddr="192.0.2.2")[:-20], "not_json"),            # cut short
    ("[1, 2, 3]", "not_json"),
    ("{}", "not_json"),
    ('"just a string"', "not_json"),
    ("", None),                                                # blank lines are not records
    ("   ", None),
    (_record(saddr="192.0.2.3", sport=9000), None),
]


def _write(path, lines, compress=False):
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_each_kind_of_bad_line_is_counted(tmp_path):
    path = tmp_path / "mixed.json"
    _write(path, [line for line, _ in LINES])
    summary = analyze([str(path)]).summary
    expected = {"not_json": 0, "missing_fields": 0, "wrong_types": 0}
    for _, problem in LINES:
        if problem:
            expected[problem] += 1
    assert {kind: summary["malformed"][kind] for kind in expected} == expected
    assert summary["malformed_lines"] == sum(expected.values())
    assert summary["records"] == 2
    assert summary["services"] == 2
    assert summary["malformed"]["first"] == {"file": str(path), "line": 2, "problem": "not_json",
                                             "text": "not json at all"}


@pytest.mark.parametrize("index", [index for index, (_, problem) in enumerate(LINES) if problem])
def test_the_first_bad_line_is_found_wherever_it_is(tmp_path, index):
    line, problem = LINES[index]
    good = [_record(saddr=f"192.0.2.{n % 250}", sport=1000 + n) for n in range(2000)]
    at = 1234
    path = tmp_path / "one.json"
    _write(path, good[:at] + [line] + good[at:] + [line])
    summary = analyze([str(path)], Options(chunk_bytes=8 << 10)).summary
    assert summary["malformed"][problem] == 2
    first = summary["malformed"]["first"]
    assert (first["line"], first["problem"]) == (at + 1, problem)
    assert summary["records"] == 2000


def test_invalid_utf8_and_crlf(tmp_path):
    path = tmp_path / "bytes.json"
    path.write_bytes(GOOD.encode() + b"\r\n" + GOOD.replace("192.0.2.1", "192.0.2.\xff").encode("latin-1")
                     + b"\n" + GOOD.encode())
    summary = analyze([str(path)]).summary
    assert (summary["records"], summary["malformed"]["not_json"]) == (2, 1)
    assert summary["malformed"]["first"]["line"] == 2
    assert "\\xff" in summary["malformed"]["first"]["text"]


def test_outcome_and_data_base64_are_used_when_present(tmp_path):
    path = tmp_path / "extended.json"
    _write(path, [
        _record(data=None, dataBase64="AAECAw==", sport=1),            # data only in base64
        _record(data=None, window=0, SYN=True, sport=2),               # a zero-window SYN-ACK
        _record(data=None, window=0, SYN=True, outcome="rst", sport=3),
        _record(data=None, window=9, outcome="zero-window", sport=4),
        _record(data=None, outcome="acking-firewall", sport=5),
        _record(data=None, ackingFirewall=True, window=0, SYN=True, sport=6),
        _record(RST=True, sport=7),                                    # data, but reset
    ])
    summary = analyze([str(path)]).summary
    assert summary["records"] == 7
    assert summary["services"] == 1
    assert summary["zero_window_records"] == 2
    assert summary["acking_firewall_records"] == 2


def _generated_gzip(tmp_path, records=3000):
    plain = tmp_path / "full.json"
    with open(plain, "wb") as out:
        generator = Generator(out, seed=5, ports_per_everywhere_host=30)
        generator.write_records(records)
    data = plain.read_bytes()
    return data, gzip.compress(data)


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Both inflaters: ISA-L's (installed by the analyze extra) and zlib's, used without it."""
    if request.param == "isal":
        module = pytest.importorskip("isal.isal_zlib")
    else:
        module = zlib
    monkeypatch.setattr("lzr.analyze.sources.INFLATE", module)
    return module


def test_truncated_gzip_keeps_what_was_read_and_exits_1(tmp_path, capsys, inflater):
    data, packed = _generated_gzip(tmp_path)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(packed[:len(packed) // 2])
    readable = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(packed[:len(packed) // 2])
    complete_lines = readable.count(b"\n")
    report = analyze([str(cut)], Options(chunk_bytes=16 << 10))
    summary = report.summary
    assert "truncated" in summary["files"][0]["damage"]
    partial = 0 if readable.endswith(b"\n") else 1
    assert summary["records"] + summary["malformed_lines"] == complete_lines + partial
    assert summary["records"] >= complete_lines - 1 and summary["records"] > 1000

    status = cli.main([str(cut), "--quiet"])
    captured = capsys.readouterr()
    assert status == cli.EXIT_FAILED
    assert "Traceback" not in captured.err
    assert "truncated" in captured.err and f"{summary['records']:,} records" in captured.err
    assert "| records |" in captured.out


def test_corrupt_gzip_is_damage_not_a_crash(tmp_path, capsys, inflater):
    _, packed = _generated_gzip(tmp_path)
    broken = bytearray(packed)
    middle = len(broken) // 2
    broken[middle:middle + 64] = bytes(64)
    path = tmp_path / "corrupt.json.gz"
    path.write_bytes(bytes(broken))
    assert cli.main([str(path), "--quiet", "--format", "json"]) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "corrupt gzip data" in summary["files"][0]["damage"]
    assert summary["records"] > 1000
    assert "Traceback" not in captured.err


def test_expand_globs_and_refuses_what_is_not_a_file(tmp_path):
    for name in ("b.json", "a.json", "c.txt"):
        (tmp_path / name).write_text(GOOD + "\n")
    assert expand([str(tmp_path / "*.json"), "-"]) == [
        str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-"]
    with pytest.raises(InputError, match="no file matches"):
        expand([str(tmp_path / "*.gz")])
    with pytest.raises(InputError, match="no such file"):
        expand([str(tmp_path / "missing.json")])
    with pytest.raises(InputError, match="is a directory"):
        expand([str(tmp_path)])
    with pytest.raises(InputError, match="twice"):
        expand(["-", "-"])


def test_a_service_with_two_labels_counts_once_in_totals_and_ports(tmp_path):
    path = tmp_path / "twice.json"
    _write(path, [
        _record(sport=80, fingerprint="http"),
        _record(sport=80, fingerprint="tls"),           # the same service named twice
        _record(sport=80, fingerprint="http"),          # and a plain duplicate
        _record(saddr="192.0.2.9", sport=80, fingerprint="http"),
        _record(saddr="192.0.2.9", sport=443, fingerprint="tls"),
    ])
    summary = analyze([str(path)]).summary
    assert (summary["records"], summary["services"], summary["hosts"]) == (5, 3, 2)
    assert summary["protocols"]["http"]["services"] == 2
    assert summary["protocols"]["tls"]["services"] == 2
    port_80 = summary["ports"]["80"]
    assert port_80["services"] == 2
    assert port_80["protocols"] == {"http": 2, "tls": 1}
    assert port_80["share_iana"] == 1.0
    assert summary["ports"]["443"]["share_iana"] == 1.0


def test_gzip_members_one_after_the_other(tmp_path, inflater):
    data, _ = _generated_gzip(tmp_path)
    cuts = [0, len(data) // 3, len(data) // 2, len(data)]
    members = b"".join(gzip.compress(data[a:b]) for a, b in zip(cuts, cuts[1:]))
    path = tmp_path / "members.json.gz"
    path.write_bytes(members)
    whole = tmp_path / "whole.json"
    whole.write_bytes(data)
    assert analyze([str(path)], Options(chunk_bytes=16 << 10)).summary["records"] == \
        analyze([str(whole)]).summary["records"]


def test_bad_lines_spread_over_many_chunks_count_the_same_on_one_parser_and_on_two(tmp_path):
    good = [_record(saddr=f"192.0.2.{n % 250}", sport=1000 + n) for n in range(3000)]
    lines = list(good)
    for index, (line, _) in enumerate(LINES):
        lines.insert(index * 150 + 7, line)
    path = tmp_path / "spread.json"
    _write(path, lines)
    one, two = (analyze([str(path)], Options(chunk_bytes=8 << 10, threads=threads)).summary
                for threads in (1, 2))
    assert one == two
    assert one["records"] == 3000 + 2       # GOOD and the last of LINES
    assert one["malformed"]["first"]["line"] == 150 + 7 + 1


def test_the_earliest_bad_line_wins_whichever_chunk_is_parsed_first(tmp_path):
    """Parsers finish chunks in any order; the first malformed line is still the earliest."""
    from lzr.analyze import ingest
    from lzr.analyze.sources import Chunk, Source

    def chunk(name, first_line, bad_at):
        lines = [_record(sport=2000 + first_line + n) for n in range(20)]
        lines[bad_at] = "not json at all"
        _write(tmp_path / name, lines)
        return Chunk(str(tmp_path / name), 0, first_line)

    early, late = chunk("early.json", 1, 15), chunk("late.json", 21, 3)
    for order in ([late, early], [early, late]):
        connection = ingest.connect("256MB", str(tmp_path))
        feeder = ingest.Ingest(connection, [Source("scan.json")], str(tmp_path))
        cursor = connection.cursor()
        for each in order:
            feeder.add(cursor, each)
        assert (feeder.first_malformed.line, feeder.first_malformed.problem) == (16, "not_json")
        assert ingest.totals(connection)["not_json"] == 2
        connection.close()


def test_a_parser_that_fails_on_another_thread_stops_the_run(tmp_path, monkeypatch):
    """DuckDB running out of memory in any parser ends the run with that error, spool removed."""
    import threading

    import duckdb
    from lzr.analyze import ingest

    data, _ = _generated_gzip(tmp_path)
    path = tmp_path / "scan.json"
    path.write_bytes(data)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr("lzr.analyze.sources._spool_parent", lambda: str(spool))
    parse = ingest.Ingest.add

    def fail_off_the_main_thread(self, cursor, chunk):
        if threading.current_thread() is not threading.main_thread():
            raise duckdb.OutOfMemoryException("out of memory (a test)")
        parse(self, cursor, chunk)

    monkeypatch.setattr("lzr.analyze.ingest.Ingest.add", fail_off_the_main_thread)
    with pytest.raises(duckdb.OutOfMemoryException, match="a test"):
        analyze([str(path)], Options(chunk_bytes=8 << 10, threads=2))
    assert list(spool.iterdir()) == []
