"""Bytes -> text lines, with a bound on the length of a line. Pure: fed chunks, no I/O.

Input arrives in chunks of any size. `LineReader` splits them at b"\\n" and decodes each line
as UTF-8 (undecodable bytes become U+FFFD, so every input is text). A line longer than
`max_length` bytes (without its newline) is never assembled: once it passes the bound, its
bytes are only counted, and the reader yields one `OverlongLine` for it, which the parsers
turn into a malformed line with its number. Memory stays below `max_length` per reader and
time is linear in the input, whatever its shape.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

MAX_LINE_LENGTH = 64 * 1024     # bytes; ZMap's and LZR's lines are a few hundred at most
QUOTE_LIMIT = 100               # characters of an input line that an error message quotes


class OverlongLine(NamedTuple):
    """A line longer than the bound: its length in bytes and its first characters."""

    length: int
    head: str

    @property
    def reason(self) -> str:
        return f"longer than {MAX_LINE_LENGTH:,} bytes ({self.length:,} bytes), skipped"


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`repr(text)`, cut to `limit` characters of `text` and saying how long it was."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class LineReader:
    """Feed it chunks with `feed`, then call `end` once the input is over.

        reader = LineReader()
        for chunk in chunks:
            for line in reader.feed(chunk):     # str, or OverlongLine
                ...
        for line in reader.end():               # the last line, if it had no newline
            ...
    """

    def __init__(self, max_length: int = MAX_LINE_LENGTH) -> None:
        self.max_length = max_length
        self._parts: list[bytes] = []       # the start of the current line
        self._held = 0                      # bytes in _parts
        self._skipped: int | None = None    # length so far of an over-long line being skipped
        self._head = ""

    def feed(self, chunk: bytes) -> list[str | OverlongLine]:
        pieces = chunk.split(b"\n")
        if len(pieces) == 1:
            self._hold(chunk)
            return []
        out = [self._finish(pieces[0])]
        limit = self.max_length
        for piece in pieces[1:-1]:
            out.append(_decode(piece) if len(piece) <= limit
                       else OverlongLine(len(piece), _decode(piece[:QUOTE_LIMIT * 4])[:QUOTE_LIMIT]))
        self._hold(pieces[-1])
        return out

    def end(self) -> list[str | OverlongLine]:
        """The last line when the input does not end with a newline."""
        if self._held or self._skipped is not None:
            return [self._finish(b"")]
        return []

    def _hold(self, piece: bytes) -> None:
        if self._skipped is not None:
            self._skipped += len(piece)
        elif self._held + len(piece) > self.max_length:
            start = b"".join(self._parts) + piece[:QUOTE_LIMIT * 4]
            self._head = _decode(start[:QUOTE_LIMIT * 4])[:QUOTE_LIMIT]
            self._skipped = self._held + len(piece)
            self._parts, self._held = [], 0
        elif piece:
            self._parts.append(piece)
            self._held += len(piece)

    def _finish(self, tail: bytes) -> str | OverlongLine:
        self._hold(tail)
        if self._skipped is not None:
            line: str | OverlongLine = OverlongLine(self._skipped, self._head)
            self._skipped, self._head = None, ""
        else:
            line = _decode(b"".join(self._parts))
        self._parts, self._held = [], 0
        return line


def split_lines(chunks: Iterable[bytes], max_length: int = MAX_LINE_LENGTH
                ) -> Iterator[str | OverlongLine]:
    """Every line of a stream of chunks (e.g. `iter(lambda: stream.read1(1 << 16), b"")`)."""
    reader = LineReader(max_length)
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.end()
