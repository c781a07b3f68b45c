"""Input files as line-aligned chunks of plain JSON lines, decompressed ahead of the parser.

DuckDB parses plain JSON lines on every core, but a gzip stream can only be inflated from its
start, by one thread; reading a `.json.gz` itself, DuckDB would inflate and parse on the same
thread. Here reader threads (one per input file, up to the number of cores) inflate, which
releases the GIL, cut the text at line ends into chunks of about CHUNK_BYTES, and write each
chunk to a spool file in memory (/dev/shm where there is one). DuckDB parses chunk n while
chunk n+1 is being inflated, so the data is read once, and inflating and parsing overlap on
different cores. The inflater is ISA-L's where python-isal is installed (zlib's interface at
about three times its speed, which leaves more of the machine to the parser), else zlib's.

A chunk knows its source and the line number its first line has there, so a malformed line
can be reported as `file:line`. Gzip is recognised by its magic bytes, not by the file name;
concatenated gzip members (pigz, bgzip, `cat a.gz b.gz`) are read one after the other. A
stream that ends early or holds corrupt data keeps every line read before the damage and
marks its source, which the report shows and the exit status reflects.
"""
import glob
import itertools
import os
import queue
import shutil
import sys
import tempfile
import threading
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import numpy

try:
    from isal import isal_zlib as INFLATE
except ImportError:
    INFLATE = zlib

CHUNK_BYTES = 32 << 20
READ_BYTES = 1 << 20
INFLATE_STEP = 64 << 10
GZIP_MAGIC = b"\x1f\x8b"
STDIN = "-"
_GLOB_CHARACTERS = frozenset("*?[")


class InputError(Exception):
    """An input argument names nothing readable (a usage error: nothing was read)."""


@dataclass
class Source:
    """One input and what reading it found."""

    name: str                    # as the user gave it ("-" for stdin)
    gzip: bool = False
    lines: int = 0               # lines read (the last one may lack its newline)
    bytes_read: int = 0          # plain-text bytes
    raw_bytes_read: int = 0      # bytes of the file itself (compressed when gzip)
    damage: str | None = None    # why the stream stopped early, or None


@dataclass(frozen=True)
class Chunk:
    path: str          # the spool file holding the chunk's text
    source: int        # index of its Source
    first_line: int    # 1-based line number of its first line in the source


def expand(arguments: list[str]) -> list[str]:
    """Paths to read, in order: globs expanded (sorted), `-` kept for stdin.

    Raises InputError for a glob that matches nothing, a path that does not exist or is a
    directory, or `-` given twice.
    """
    paths: list[str] = []
    for argument in arguments:
        if argument == STDIN:
            if STDIN in paths:
                raise InputError("'-' (stdin) given twice")
            paths.append(STDIN)
        elif _GLOB_CHARACTERS & set(argument) and not os.path.exists(argument):
            matches = sorted(path for path in glob.glob(argument) if not os.path.isdir(path))
            if not matches:
                raise InputError(f"no file matches {argument!r}")
            paths.extend(matches)
        elif not os.path.exists(argument):
            raise InputError(f"{argument}: no such file")
        elif os.path.isdir(argument):
            raise InputError(f"{argument}: is a directory "
                             f"(give its files, e.g. '{argument}/*.json.gz')")
        else:
            paths.append(argument)
    return paths


def _reads(stream: BinaryIO, source: Source) -> Iterator[bytes]:
    while block := stream.read(READ_BYTES):
        source.raw_bytes_read += len(block)
        yield block


def _inflate(raw: Iterator[bytes], source: Source) -> Iterator[bytes]:
    """The plain text of a gzip stream (members one after the other), block by block.

    The inflater gets INFLATE_STEP bytes at a time: when it meets corrupt data it raises and
    returns nothing of that call, so small steps lose little of the text before the damage.
    """
    inflater = INFLATE.decompressobj(zlib.MAX_WBITS | 16)
    for pending in raw:
        view, offset = memoryview(pending), 0
        while offset < len(view):
            step = view[offset:offset + INFLATE_STEP]
            offset += len(step)
            try:
                block = inflater.decompress(step)
            except INFLATE.error as error:
                source.damage = f"corrupt gzip data ({error})"
                return
            if block:
                yield block
            if inflater.eof:
                # The end of one member; what follows may be the next one.
                rest = inflater.unused_data + view[offset:]
                inflater = INFLATE.decompressobj(zlib.MAX_WBITS | 16)
                if not rest:
                    rest = next(raw, b"")
                    if not rest:
                        return
                view, offset = memoryview(rest), 0
    source.damage = "gzip stream truncated (it ends before its end marker)"


def text_blocks(stream: BinaryIO, source: Source) -> Iterator[bytes]:
    """The plain text of a stream, gzip or not (decided by its first two bytes)."""
    raw = _reads(stream, source)
    head = next(raw, b"")
    if head.startswith(GZIP_MAGIC):
        source.gzip = True
        return _inflate(itertools.chain((head,), raw), source)
    return itertools.chain((head,) if head else (), raw)


class ChunkSpool:
    """Reads sources on background threads into spooled chunks, which parsers `take`.

    Chunks come in order within a source; sources are read concurrently. The spool is a ring
    of `2 * threads + 2` files that are written over again: a reader waits for a free one, and
    a parser frees a chunk's file (`done`) once it has parsed it. So memory stays bounded
    however fast the readers are, and the kernel never has to find and clear fresh pages for
    the next gigabyte of text.
    """

    def __init__(self, sources: list[Source], *, threads: int, chunk_bytes: int = CHUNK_BYTES,
                 stdin: BinaryIO | None = None):
        self.sources = sources
        self._chunk_bytes = chunk_bytes
        self._stdin = stdin if stdin is not None else sys.stdin.buffer
        self.directory = tempfile.mkdtemp(prefix="lzr-analyze-", dir=_spool_parent())
        self._ready: queue.Queue = queue.Queue()
        self._free: queue.Queue = queue.Queue()
        for number in range(2 * threads + 2):
            self._free.put(os.path.join(self.directory, f"chunk-{number}.json"))
        self._next_source = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._readers = [threading.Thread(target=self._read_sources, name=f"lzr-analyze-read-{i}",
                                          daemon=True)
                         for i in range(max(1, min(threads, len(sources))))]
        self._running = len(self._readers)
        self._finished = False
        self.errors: list[BaseException] = []

    def __enter__(self) -> "ChunkSpool":
        for reader in self._readers:
            reader.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
        for reader in self._readers:
            # A reader blocked on a quiet stdin cannot see the stop; it is a daemon thread.
            reader.join(timeout=2.0)
        shutil.rmtree(self.directory, ignore_errors=True)

    def take(self) -> Chunk | None:
        """The next chunk to parse, waiting for one; None once every reader has finished or
        the spool was stopped (to every caller, so several threads may take). Raises what a
        reader raised."""
        while True:
            item = self._ready.get()
            if item is not None:
                return item
            with self._lock:
                if not self._finished and not self._stop.is_set():
                    self._running -= 1
                    self._finished = self._running == 0
                finished = self._finished or self._stop.is_set()
            if finished:
                self._ready.put(None)       # for the next caller
                if self.errors:
                    raise self.errors[0]
                return None

    def stop(self) -> None:
        """Readers stop after their current block; `take` returns None once it gets to the stop."""
        self._stop.set()
        self._ready.put(None)

    def done(self, chunk: Chunk) -> None:
        """The chunk was parsed: its file may be written over."""
        self._free.put(chunk.path)

    def _free_path(self) -> str | None:
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _read_sources(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    index = self._next_source
                    self._next_source += 1
                if index >= len(self.sources):
                    break
                self._read_source(index)
        except BaseException as error:  # handed to the consumer, which raises it
            self.errors.append(error)
        finally:
            self._ready.put(None)

    def _read_source(self, index: int) -> None:
        source = self.sources[index]
        if source.name == STDIN:
            self._chunk_stream(self._stdin, index, source)
        else:
            with open(source.name, "rb", buffering=0) as stream:
                self._chunk_stream(stream, index, source)

    def _chunk_stream(self, stream: BinaryIO, index: int, source: Source) -> None:
        path = self._free_path()
        if path is None:
            return
        chunk = _ChunkFile(path)
        first_line = 1
        try:
            for block in text_blocks(stream, source):
                if self._stop.is_set():
                    return
                source.bytes_read += len(block)
                # Cut at the block's last line end once the chunk is full; a chunk holding one
                # very long line grows until that line ends.
                cut = block.rfind(b"\n") + 1 if chunk.size + len(block) >= self._chunk_bytes else 0
                if not cut:
                    chunk.write(block, 0, len(block))
                    continue
                chunk.write(block, 0, cut)
                lines = chunk.close()
                source.lines += lines
                self._ready.put(Chunk(chunk.path, index, first_line))
                first_line += lines
                path = self._free_path()
                if path is None:
                    return
                chunk = _ChunkFile(path)
                chunk.write(block, cut, len(block))
        finally:
            lines = chunk.close()
        if chunk.size:
            source.lines += lines
            self._ready.put(Chunk(chunk.path, index, first_line))
        else:
            self._free.put(chunk.path)


class _ChunkFile:
    """A spool file being written over from its start, counting its lines as they go by."""

    __slots__ = ("path", "size", "_fd", "_newlines", "_ends_line")

    def __init__(self, path: str):
        self.path = path
        self.size = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        self._newlines = 0
        self._ends_line = True

    def write(self, block: bytes, start: int, end: int) -> None:
        if end <= start:
            return
        view = memoryview(block)[start:end]
        written = view
        while written:
            written = written[os.write(self._fd, written):]
        self.size += end - start
        self._newlines += _newlines(view)
        self._ends_line = block[end - 1] == 0x0A

    def close(self) -> int:
        """Cuts the file to what was written and closes it (again is harmless); returns the
        lines it holds, a last one without its newline too."""
        if self._fd != -1:
            os.ftruncate(self._fd, self.size)
            os.close(self._fd)
            self._fd = -1
        return self._newlines + (0 if self._ends_line else 1)


def _newlines(text: memoryview) -> int:
    # Eight times faster than bytes.count, which compares byte by byte.
    return int(numpy.count_nonzero(numpy.frombuffer(text, numpy.uint8) == 0x0A))


def _spool_parent() -> str:
    """Memory-backed /dev/shm when it exists and is writable, else the temporary directory."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return tempfile.gettempdir()
