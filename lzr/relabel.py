"""`lzr fingerprint --records`: name the responses of LZR records again, with today's rules.

Records are LZR's JSON lines, ours or LZR's own, plain or gzip, read and written one line at a
time. The response is taken from `dataBase64` (written with `--extended`: the exact bytes)
when a record has it, else from LZR's `data` string, which holds the bytes that were valid
UTF-8 and U+FFFD for each byte that was not: rules that look at binary bytes may miss there.

A record whose label stays is written back byte for byte. One whose label changes is written
with the new `fingerprint` and the old one in `fingerprintBefore`, after every other field, in
Go's encoding (lzr.output.encode_json_value), so LZR's fields keep their order. A line that is
not a JSON object is reported with its number, counted, and passed through unchanged.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import json
import sys
from collections import Counter
from typing import BinaryIO, Iterable, Iterator, Sequence

from lzr.fingerprint import fingerprint
from lzr.output import encode_json_value

GZIP_MAGIC = b"\x1f\x8b"


class MalformedRecord(ValueError):
    """A line that is not an LZR record."""


class RelabelCounts:
    """What a pass over records changed, for the summary on stderr."""

    def __init__(self) -> None:
        self.records = 0
        self.exact = 0          # responses taken from dataBase64
        self.lossy = 0          # responses taken from the `data` string
        self.malformed = 0
        self.changes: Counter[tuple[str, str]] = Counter()

    def format(self) -> str:
        relabelled = sum(self.changes.values())
        lines = [f"lzr fingerprint: {self.records} records, {self.exact + self.lossy} with data "
                 f"({self.exact} from dataBase64, {self.lossy} from the data string); "
                 f"{relabelled} relabelled; {self.malformed} malformed lines passed through"]
        by_count = sorted(self.changes.items(), key=lambda item: (-item[1], item[0]))
        lines += [f"  {before} -> {after}: {count}" for (before, after), count in by_count]
        if self.lossy:
            lines.append("  (the data string loses bytes that are not UTF-8; scan with "
                         "--extended to keep them in dataBase64)")
        return "\n".join(lines) + "\n"


def response_of(record: dict) -> tuple[bytes, bool]:
    """The record's response bytes, and whether they are exact (from dataBase64)."""
    encoded = record.get("dataBase64")
    if encoded is not None:
        if not isinstance(encoded, str):
            raise MalformedRecord("dataBase64 is not a string")
        try:
            return base64.b64decode(encoded, validate=True), True
        except binascii.Error as error:
            raise MalformedRecord(f"dataBase64 is not base64: {error}") from None
    text = record.get("data", "")
    if not isinstance(text, str):
        raise MalformedRecord("data is not a string")
    return text.encode("utf-8", "surrogatepass"), False


def relabel_line(line: bytes, priority: Sequence[str], counts: RelabelCounts,
                 compat: bool = False) -> bytes:
    """One record line, relabelled (the same bytes when the label stays)."""
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedRecord(f"not JSON: {error}") from None
    if not isinstance(record, dict):
        raise MalformedRecord("not a JSON object")
    response, exact = response_of(record)
    before = record.get("fingerprint")
    after = fingerprint(response, priority, compat)
    relabelled = line
    if before != after:
        record["fingerprint"] = after
        record.pop("fingerprintBefore", None)
        if before is not None:
            record["fingerprintBefore"] = before
        relabelled = (encode_json_value(record) + "\n").encode("utf-8")
        counts.changes[(str(before), after)] += 1
    counts.records += 1
    if response:
        if exact:
            counts.exact += 1
        else:
            counts.lossy += 1
    return relabelled


def relabel_lines(lines: Iterable[bytes], priority: Sequence[str], counts: RelabelCounts,
                  report=print, compat: bool = False) -> Iterator[bytes]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            yield line
            continue
        try:
            yield relabel_line(line, priority, counts, compat)
        except ValueError as error:     # MalformedRecord, or a value JSON cannot hold
            counts.malformed += 1
            report(f"lzr fingerprint: line {number}: {error}; passed through unchanged")
            yield line


def open_records(path: str) -> BinaryIO:
    """The file (or stdin for '-') as a binary stream, decompressed when it is gzip."""
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw)
    return raw


def relabel_records(path: str, priority: Sequence[str], out: BinaryIO,
                    compat: bool = False) -> RelabelCounts:
    """Relabels every record of `path` onto `out`; the counts are for the summary."""
    counts = RelabelCounts()

    def report(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with open_records(path) as records:
        for line in relabel_lines(records, priority, counts, report, compat):
            out.write(line)
    out.flush()
    return counts
