"""One analysis: sources -> spooled chunks -> DuckDB -> the report (see the package docstring)."""
import os
import tempfile
import time
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from lzr.analyze import ingest, tables
from lzr.analyze.sources import CHUNK_BYTES, STDIN, ChunkSpool, Source


@dataclass(frozen=True)
class Options:
    exclude_pseudo: bool = False
    top: int = 10
    threads: int = os.cpu_count() or 1
    memory_limit: str = "1GB"
    chunk_bytes: int = CHUNK_BYTES


class _Progress:
    """A line on stderr while a long run goes on: input read, its rate, the time left."""

    FIRST_AFTER = 2.0

    def __init__(self, sources: list[Source], stream: TextIO | None):
        self._sources = sources
        self._stream = stream
        self._interval = 1.0 if stream is not None and stream.isatty() else 10.0
        self._sizes = [None if s.name == STDIN else os.path.getsize(s.name) for s in sources]
        self._start = time.monotonic()
        self._next = self._start + self.FIRST_AFTER
        self._shown = False

    def update(self) -> None:
        now = time.monotonic()
        if self._stream is None or now < self._next:
            return
        self._next = now + self._interval
        elapsed = now - self._start
        text = sum(source.bytes_read for source in self._sources)
        line = (f"lzr analyze: {elapsed:.0f} s, {text / 1e9:.2f} GB of text read "
                f"({text / elapsed / 1e6:.0f} MB/s)")
        if None not in self._sizes:
            read = sum(source.raw_bytes_read for source in self._sources)
            done = read / max(1, sum(self._sizes))
            if done > 0:
                line += (f", {100 * done:.0f}% of the input, "
                         f"about {elapsed * (1 - done) / done:.0f} s left")
        end = "\r" if self._interval == 1.0 else "\n"
        self._stream.write(line + end)
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown and self._interval == 1.0:
            self._stream.write("\n")


def analyze(paths: list[str], options: Options = Options(), *, stdin: BinaryIO | None = None,
            progress: TextIO | None = None) -> tables.Report:
    """Reads every path (`-` is stdin) and builds the report. Damage to an input (a truncated
    or corrupt gzip stream) does not stop the run: the report's `files` entries say which."""
    sources = [Source(path) for path in paths]
    meter = _Progress(sources, progress)
    # DuckDB spills to disk (the temporary directory), not to the spool's memory.
    with ChunkSpool(sources, threads=options.threads, chunk_bytes=options.chunk_bytes,
                    stdin=stdin) as spool, \
            tempfile.TemporaryDirectory(prefix="lzr-analyze-spill-") as spill:
        connection = ingest.connect(options.memory_limit, spill)
        try:
            feeder = ingest.Ingest(connection, sources, spool.directory)
            feeder.run(spool, parsers=options.threads, progress=meter.update)
            meter.close()
            connection.execute(f"SET threads = {options.threads}")
            counted = ingest.totals(connection)
            service_tables = tables.build(connection, exclude_pseudo=options.exclude_pseudo,
                                          top=options.top)
        finally:
            connection.close()
    first = feeder.first_malformed
    coverage = service_tables.pop("coverage")
    summary = {
        "files": [{"name": source.name, "gzip": source.gzip, "lines": source.lines,
                   "damage": source.damage} for source in sources],
        "records": counted["records"],
        "malformed_lines": sum(counted[problem] for problem in ingest.PROBLEMS),
        "malformed": {
            **{problem: counted[problem] for problem in ingest.PROBLEMS},
            "first": None if first is None else {
                "file": sources[first.source].name, "line": first.line,
                "problem": first.problem, "text": first.text},
        },
        "zero_window_records": counted["zero_window_records"],
        "acking_firewall_records": counted["acking_firewall_records"],
        **service_tables,
    }
    return tables.Report(summary, coverage)


def damaged(report: tables.Report) -> list[dict]:
    """The `files` entries of inputs that ended early or held corrupt data."""
    return [entry for entry in report.summary["files"] if entry["damage"]]

