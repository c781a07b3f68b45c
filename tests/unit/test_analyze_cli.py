"""`lzr analyze` as a user runs it: formats, --out, usage errors, missing packages; the shipped
port table and the generator's record format."""
import base64
import csv
import io
import json
import re

import pytest

from lzr.analyze import cli
from lzr.analyze.ports import PRIMARY_PORTS
from lzr.analyze.synth import Generator
from lzr.cli import main as lzr_main
from lzr.handshakes import REGISTRY
from lzr.output import Record, RecordEncoder
from lzr.output.record import EXTENDED_FIELDS, FIELDS, Outcome

# Labels that stand for no port of their own.
NO_PRIMARY_PORT = {"newlines", "newlines50", "wait", "jdwp"}


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "scan.json.gz"
    import gzip
    with gzip.open(path, "wb") as out:
        generator = Generator(out, seed=2, ports_per_everywhere_host=30)
        generator.write_records(2000)
    return path, generator.truth


def test_markdown_by_default_through_the_lzr_command(scan, capsys):
    path, truth = scan
    assert lzr_main(["analyze", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# LZR dataset report")
    for heading in ("## Totals", "## Per protocol", "## Per port"):
        assert heading in out
    assert f"| records | {truth.records:,} |" in out
    assert "| http |" in out


def test_json_has_the_documented_keys(scan, capsys):
    path, truth = scan
    assert cli.main([str(path), "--format", "json", "--quiet", "--top", "3"]) == 0
    text = capsys.readouterr().out
    report = json.loads(text)
    # A port's whole entry on one line, so that `grep '"8080":'` finds it.
    port_lines = {line.split('"')[1]: line for line in text.splitlines()
                  if line.startswith('  "') and line.split('"')[1].isdigit()}
    assert port_lines.keys() == report["ports"].keys()
    for port, line in port_lines.items():
        assert json.loads(line.split(": ", 1)[1].rstrip(",")) == report["ports"][port]
    for key in ("records", "malformed_lines", "services", "hosts", "pseudo_service_hosts",
                "protocols", "ports"):
        assert key in report
    assert report["records"] == truth.records
    http = report["protocols"]["http"]
    assert set(http) >= {"services", "hosts", "ports", "on_iana_port", "share_on_iana_port",
                         "top_ports"}
    assert len(http["top_ports"]) == 3 and all(len(pair) == 2 for pair in http["top_ports"])
    assert all(isinstance(value, int) for value in (http["services"], http["on_iana_port"]))
    assert all(port.isdigit() for port in report["ports"])


def test_csv_sections(scan, capsys):
    path, truth = scan
    assert cli.main([str(path), "--format", "csv", "--quiet"]) == 0
    sections = capsys.readouterr().out.split("\n\n")
    assert [section.splitlines()[0].split(",")[0] for section in sections] == [
        "measure", "protocol", "port"]
    totals = dict(csv.reader(io.StringIO(sections[0])))
    assert int(totals["records"]) == truth.records


def test_out_writes_the_tables_and_plots(scan, tmp_path, capsys):
    path, _ = scan
    out = tmp_path / "report"
    assert cli.main([str(path), "--out", str(out), "--quiet", "--exclude-pseudo"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["coverage.png", "iana-share.png", "ports.csv", "protocols.csv",
                     "report.json", "report.md", "totals.csv"]
    for png in ("coverage.png", "iana-share.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "report.json").read_text())["exclude_pseudo"] is True
    assert "left out of every table" in (out / "report.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["missing.json"], "missing.json: no such file"),
    (["nothing-*.json.gz"], "no file matches"),
    (["x.json", "--top", "0"], "must be 1 or more"),
    (["x.json", "--format", "xml"], "invalid choice"),
    (["x.json", "--memory-limit", "lots"], "not a size"),
])
def test_usage_errors_exit_2_with_one_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text("")
    try:
        status = cli.main(argv)
    except SystemExit as exit:      # argparse's own errors
        status = exit.code
    assert status == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("module, flags", [
    ("duckdb", []), ("numpy", []), ("matplotlib", ["--out", "out"])])
def test_a_missing_package_names_what_to_install(module, flags, monkeypatch, capsys, tmp_path):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == module else real(name, *rest))
    (tmp_path / "x.json").write_text("")
    assert cli.main([str(tmp_path / "x.json"), *flags]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"pip install {module}" in err


def test_empty_input(tmp_path, capsys):
    (tmp_path / "empty.json").write_text("")
    assert cli.main([str(tmp_path / "empty.json"), "--format", "json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["records"], report["services"], report["protocols"]) == (0, 0, {})


def test_every_label_the_scanner_gives_has_a_primary_port_or_none_on_purpose():
    for name in REGISTRY:
        assert name in PRIMARY_PORTS or name in NO_PRIMARY_PORT, name
    assert all(1 <= entry.port <= 65535 for entry in PRIMARY_PORTS.values())
    assert {entry.basis for entry in PRIMARY_PORTS.values()} == {"IANA", "de facto"}
    assert (PRIMARY_PORTS["http"].port, PRIMARY_PORTS["tls"].port, PRIMARY_PORTS["ssh"].port,
            PRIMARY_PORTS["smtp"].port, PRIMARY_PORTS["ftp"].port) == (80, 443, 22, 25, 21)


@pytest.mark.parametrize("extended", [False, True])
def test_generated_lines_are_what_the_scanners_encoder_writes(extended):
    out = io.BytesIO()
    Generator(out, seed=4, ports_per_everywhere_host=20, extended=extended).write_records(400)
    encoder = RecordEncoder(extended=extended, utc_offset_seconds=-7 * 3600)
    json_to_attribute = {json_name: attribute
                         for attribute, json_name, _ in FIELDS + EXTENDED_FIELDS}
    lines = out.getvalue().splitlines(keepends=True)
    assert len(lines) >= 400
    binary = 0
    for line in lines:
        fields = json.loads(line)
        values = {json_to_attribute[name]: value for name, value in fields.items()}
        values["data"] = (base64.b64decode(values.pop("data_base64")) if "data_base64" in values
                          else values.get("data", "").encode("utf-8"))
        values["timestamp_ns"] = _ns(values["timestamp_ns"])
        if "outcome" in values:
            values["outcome"] = Outcome(values["outcome"])
        again = encoder.encode(Record(**values))
        if b"\\ufffd" in line and not extended:
            # Go writes each invalid byte as \ufffd; decoded, it can only come back as U+FFFD.
            binary += 1
            assert list(json.loads(again).items()) == list(fields.items())
        else:
            assert again == line
    assert extended or 0 < binary < len(lines)


def _ns(text: str) -> int:
    """Unix nanoseconds of a Go RFC 3339 time with trimmed nanoseconds and a zone offset."""
    from datetime import datetime
    seconds, digits, zone = re.fullmatch(r"(.{19})(?:\.(\d+))?(.*)", text).groups()
    moment = datetime.fromisoformat(seconds + zone)
    return int(moment.timestamp()) * 1_000_000_000 + int((digits or "").ljust(9, "0"))


def test_interrupted_run_exits_130_and_leaves_no_spool(scan, tmp_path, monkeypatch, capsys):
    path, _ = scan
    monkeypatch.setattr("lzr.analyze.sources._spool_parent", lambda: str(tmp_path))

    def interrupt(self, cursor, chunk):
        raise KeyboardInterrupt

    monkeypatch.setattr("lzr.analyze.ingest.Ingest.add", interrupt)
    assert cli.main([str(path), "--quiet"]) == cli.EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
