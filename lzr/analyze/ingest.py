"""Parsing chunks of LZR records with DuckDB into a small table of services and counters.

Each chunk is one DuckDB query on one DuckDB thread; several parser threads run such queries
side by side. A query reads only the fields the report needs, decides for every line whether
it is a well-formed record, and groups: real services (data present, `RST` false) become one
row each (address, port, label), every other record only adds to the counters of one row per
chunk. The `staged` table therefore grows with the services found, not
with the records read, and no record ever becomes a Python object.

A line is malformed when it is not a JSON object holding any of LZR's fields (`not_json`),
lacks one of the fields every LZR record has (`missing_fields`), or holds one with the wrong
type (`wrong_types`: `sport` as a string, a port above 65535, `RST` as a number, ...).
Well-formed records are `records`; blank lines are neither.

The JSON names come from the record schema in `lzr.output.record`. Fields that only
`--extended` writes are used when present: `dataBase64` (the exact payload) counts as data,
`outcome` decides zero-window and ACKing-firewall records. Without it, a zero-window record is
the SYN-ACK recorded as it came, with window 0 (resets also carry window 0, so LZR's own
ZeroWindow counter, which looks at the window alone, counts them too).
"""
import os
import threading
from dataclasses import dataclass
from typing import Callable

import duckdb

from lzr.output.record import EXTENDED_FIELDS, FIELDS, Outcome
from lzr.analyze.sources import Chunk, ChunkSpool, Source

_JSON_NAME = {attribute: json_name for attribute, json_name, _ in FIELDS + EXTENDED_FIELDS}

# Numbers and booleans are read as their raw JSON text, so that "80" and 80 can be told apart
# (read typed, DuckDB turns "80" and 80.5 into 80, 1 and "yes" into true, without a word);
# strings as text (cheaper), checked for looking like an address and a label.
_AS_JSON = ("sport", "window", "syn", "rst", "acking_firewall")
_AS_TEXT = ("saddr", "fingerprint", "data")
EXTENDED_DATA = _JSON_NAME["data_base64"]
EXTENDED_OUTCOME = _JSON_NAME["outcome"]

COLUMNS = {
    **{_JSON_NAME[attribute]: "JSON" for attribute in _AS_JSON},
    **{_JSON_NAME[attribute]: "VARCHAR" for attribute in _AS_TEXT},
    EXTENDED_DATA: "VARCHAR",
    EXTENDED_OUTCOME: "VARCHAR",
}

PROBLEMS = ("not_json", "missing_fields", "wrong_types")
COUNTERS = ("records", "zero_window_records", "acking_firewall_records") + PROBLEMS


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source(path: str) -> str:
    columns = ", ".join(f"{_quoted(name)}: '{kind}'" for name, kind in COLUMNS.items())
    quoted_path = "'" + path.replace("'", "''") + "'"
    return (f"read_json({quoted_path}, format = 'newline_delimited', records = true, "
            f"ignore_errors = true, columns = {{{columns}}})")


def _classified(path: str) -> str:
    """One row per non-blank line: its problem (0 = well-formed), whether it is a service, and
    the raw JSON text of the fields the report needs.

    JSON-typed columns hold the value's JSON text, so strings keep their quotes (which the
    integer casts refuse) and DuckDB writes every non-integer number with a '.'. A text column
    given a number or a list holds its JSON text: an address has a '.' or a ':', a label
    starts with a lowercase letter.
    """
    name = {attribute: _quoted(json_name) for attribute, json_name in _JSON_NAME.items()}
    return f"""
    SELECT s, p, f,
           CASE
             WHEN s IS NULL AND p IS NULL AND w IS NULL AND y IS NULL AND r IS NULL AND f IS NULL
               THEN 1
             WHEN s IS NULL OR p IS NULL OR w IS NULL OR y IS NULL OR r IS NULL OR f IS NULL THEN 2
             WHEN r IN ('true', 'false') AND y IN ('true', 'false')
                  AND (af IS NULL OR af IN ('true', 'false'))
                  AND (contains(s, '.') OR contains(s, ':')) AND f >= 'a' AND f < '{{'
                  AND NOT contains(p, '.') AND try_cast(p AS USMALLINT) IS NOT NULL
                  AND NOT contains(w, '.') AND try_cast(w AS UINTEGER) IS NOT NULL THEN 0
             ELSE 3
           END AS problem,
           r = 'false' AND (coalesce(payload, '') <> '' OR coalesce(payload_b64, '') <> '')
             AS service,
           CASE WHEN outcome IS NOT NULL THEN outcome = '{Outcome.ZERO_WINDOW}'
                ELSE w = '0' AND y = 'true' AND af IS DISTINCT FROM 'true' END AS zero_window,
           af = 'true' OR outcome = '{Outcome.ACKING_FIREWALL}' AS acking_firewall
    FROM (SELECT {name['saddr']} AS s, {name['sport']}::VARCHAR AS p,
                 {name['window']}::VARCHAR AS w, {name['syn']}::VARCHAR AS y,
                 {name['rst']}::VARCHAR AS r,
                 {name['fingerprint']} AS f, {name['acking_firewall']}::VARCHAR AS af,
                 {name['data']} AS payload, {_quoted(EXTENDED_DATA)} AS payload_b64,
                 {_quoted(EXTENDED_OUTCOME)} AS outcome
          FROM {_source(path)})
    """


def _grouped(path: str, chunk: int) -> str:
    """Services one row each, every other line into the counters of one row."""
    return f"""
    SELECT {chunk} AS chunk,
           CASE WHEN kept THEN s END AS saddr,
           CASE WHEN kept THEN p::USMALLINT END AS sport,
           CASE WHEN kept THEN f END AS label,
           count(*) FILTER (problem = 0) AS records,
           count(*) FILTER (problem = 0 AND zero_window) AS zero_window_records,
           count(*) FILTER (problem = 0 AND acking_firewall) AS acking_firewall_records,
           count(*) FILTER (problem = 1) AS not_json,
           count(*) FILTER (problem = 2) AS missing_fields,
           count(*) FILTER (problem = 3) AS wrong_types
    FROM (SELECT *, problem = 0 AND service AS kept FROM ({_classified(path)}))
    GROUP BY ALL
    """


@dataclass(frozen=True)
class MalformedLine:
    source: int      # index of its Source
    line: int        # 1-based
    problem: str     # one of PROBLEMS
    text: str        # the line, shortened and made printable


def connect(memory_limit: str, spill_directory: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the `staged` table, which spills past `memory_limit`.

    It runs each query on one thread: the parsers are several queries at once, one per
    chunk, which wastes no time waiting for each other as the threads of one query over a
    single chunk do. Set `threads` higher for the queries that follow.
    """
    connection = duckdb.connect(config={
        "threads": 1,
        "memory_limit": memory_limit,
        "temp_directory": spill_directory,
        "preserve_insertion_order": False,
        "autoinstall_known_extensions": False,
    })
    connection.execute("SET enable_progress_bar = false")
    # Not a TEMP table: every parser's cursor is a connection of its own, and sees it.
    connection.execute(
        "CREATE TABLE staged (chunk INTEGER, saddr VARCHAR, sport USMALLINT, label VARCHAR, "
        + ", ".join(f"{counter} BIGINT" for counter in COUNTERS) + ")")
    return connection


class Ingest:
    """Parsers (threads, each with its own DuckDB cursor) that take chunks from the spool
    into `staged`, and the first malformed line they met."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, sources: list[Source],
                 probe_directory: str):
        self._connection = connection
        self._sources = sources
        self._probe_directory = probe_directory
        self.first_malformed: MalformedLine | None = None
        self._chunks = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []

    def run(self, spool: ChunkSpool, parsers: int, progress: Callable[[], None]) -> None:
        """Parses every chunk the spool gives on `parsers` threads, this one among them (which
        calls `progress` after each of its chunks). Raises what a parser raised."""
        cursors = [self._connection.cursor() for _ in range(parsers - 1)]
        others = [threading.Thread(target=self._parse_guarded, args=(spool, cursor),
                                   name=f"lzr-analyze-parse-{number}", daemon=True)
                  for number, cursor in enumerate(cursors, start=1)]
        for thread in others:
            thread.start()
        try:
            self._parse(spool, self._connection, progress)
        except BaseException:
            self._stop.set()
            spool.stop()
            for cursor in cursors:
                cursor.interrupt()
            raise
        finally:
            for thread in others:
                thread.join()
            for cursor in cursors:
                cursor.close()
        if self._errors:
            raise self._errors[0]

    def _parse_guarded(self, spool: ChunkSpool, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            self._parse(spool, cursor, lambda: None)
        except BaseException as error:  # handed to run(), which raises it
            self._errors.append(error)
            self._stop.set()
            spool.stop()

    def _parse(self, spool: ChunkSpool, cursor: duckdb.DuckDBPyConnection,
               progress: Callable[[], None]) -> None:
        while not self._stop.is_set() and (chunk := spool.take()) is not None:
            self.add(cursor, chunk)
            spool.done(chunk)
            progress()

    def add(self, cursor: duckdb.DuckDBPyConnection, chunk: Chunk) -> None:
        """Parses one chunk into `staged` and, if it holds the earliest malformed line so far,
        finds that line."""
        with self._lock:
            self._chunks += 1
            number = self._chunks
        cursor.execute(f"INSERT INTO staged {_grouped(chunk.path, number)}")
        malformed = cursor.execute(
            "SELECT sum(not_json + missing_fields + wrong_types) FROM staged WHERE chunk = ?",
            [number]).fetchone()[0]
        if malformed and self._could_come_first(chunk.source, chunk.first_line):
            found = self._locate_first_malformed(cursor, chunk, number)
            with self._lock:
                if self._could_come_first(found.source, found.line):
                    self.first_malformed = found

    def _could_come_first(self, source: int, line: int) -> bool:
        first = self.first_malformed
        return first is None or (source, line) < (first.source, first.line)

    def _locate_first_malformed(self, cursor: duckdb.DuckDBPyConnection, chunk: Chunk,
                                number: int) -> MalformedLine:
        """Halves the chunk's lines, re-parsing each half with the same query, down to one line."""
        with open(chunk.path, "rb") as spooled:
            text = spooled.read()
        starts = [0]
        position = text.find(b"\n")
        while position != -1 and position + 1 < len(text):
            starts.append(position + 1)
            position = text.find(b"\n", position + 1)
        starts.append(len(text))
        probe = os.path.join(self._probe_directory, f"probe-{number}.json")

        def problems_in(first: int, stop: int) -> list[int]:
            with open(probe, "wb") as out:
                out.write(memoryview(text)[starts[first]:starts[stop]])
            return [row[0] for row in cursor.execute(
                f"SELECT problem FROM ({_classified(probe)}) WHERE problem > 0").fetchall()]

        low, high = 0, len(starts) - 1      # the lines [low, high) hold a malformed one
        while high - low > 1:
            middle = (low + high) // 2
            if problems_in(low, middle):
                high = middle
            else:
                low = middle
        problems = problems_in(low, high)
        os.unlink(probe)
        line = text[starts[low]:starts[low + 1]].rstrip(b"\r\n")
        return MalformedLine(chunk.source, chunk.first_line + low, PROBLEMS[problems[0] - 1],
                             _printable(line))


def _printable(line: bytes, limit: int = 120) -> str:
    text = line[:limit].decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + ("..." if len(line) > limit else "")


def totals(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The counters summed over everything added."""
    row = connection.execute(
        "SELECT " + ", ".join(f"coalesce(sum({counter}), 0)::BIGINT" for counter in COUNTERS)
        + " FROM staged").fetchone()
    return dict(zip(COUNTERS, row))
