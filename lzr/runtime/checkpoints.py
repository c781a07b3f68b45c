"""Range-scan checkpoints: which point of the walk is finished, and writing it safely.

A checkpoint says where a resumed scan starts (`ranges.Checkpoint.position`) and promises that
every target before it is finished: all its SYNs were sent, every answer they drew had its
time to come (-t after the last SYN), and every answer that came has its final record written.
The senders report rounds of chunks whose last SYN pass is over (`frames.SenderMark`); the
workers report up to when every answer they were handed has its record (`finished_before`).
A round is finished once that time has passed its last pass plus -t. The coordinator writes
the newest finished round (`newest`) once a second and at the end.

The file is replaced atomically: the text goes to a new file made with `mkstemp` in the same
directory (a fresh name, opened O_EXCL, so a planted symlink is never followed), which is
then renamed over the checkpoint.
"""
from __future__ import annotations

import os
import tempfile

from lzr.runtime.frames import SenderMark
from lzr.targets.ranges import Checkpoint


class Marks:
    """The senders' marks of one scan and the checkpoints they make.

    `base` is the checkpoint the scan started from (position and handed count so far),
    `slice_length` the length of this shard's slice, `chunk` the senders' chunk size and
    `answer_wait` how long an answer may take after the last SYN (-t).
    """

    def __init__(self, base: Checkpoint, senders: int, chunk: int, slice_length: int,
                 answer_wait: float) -> None:
        self.base = base
        self.senders, self.chunk = senders, chunk
        self.slice_length = slice_length
        self.answer_wait = answer_wait
        self.marks: list[dict[int, SenderMark]] = [{} for _ in range(senders)]
        self.final: list[SenderMark | None] = [None] * senders
        self.saved_round = 0

    def add(self, sender: int, marks: list[SenderMark]) -> None:
        for mark in marks:
            self.marks[sender][mark.chunks] = mark
            if mark.final:
                self.final[sender] = mark

    def _mark(self, sender: int, round_: int) -> SenderMark | None:
        final = self.final[sender]
        if final is not None and round_ >= final.chunks:
            return final
        return self.marks[sender].get(round_)

    def newest(self, finished_before: float) -> Checkpoint | None:
        """The newest checkpoint finished by `finished_before` (the workers' least), if it is
        newer than the last one returned."""
        reached = [max(marks, default=0) if self.final[s] is None else None
                   for s, marks in enumerate(self.marks)]
        open_streams = [r for r in reached if r is not None]
        top = min(open_streams) if open_streams else max(f.chunks for f in self.final)
        for round_ in range(top, self.saved_round, -1):
            marks = [self._mark(s, round_) for s in range(self.senders)]
            if any(mark is None for mark in marks):
                continue
            if max(mark.at for mark in marks) + self.answer_wait > finished_before:
                continue
            self.saved_round = round_
            for sender_marks in self.marks:        # older rounds are no longer needed
                for old in [r for r in sender_marks if r < round_]:
                    del sender_marks[old]
            position = min(self.slice_length,
                           self.base.position + round_ * self.senders * self.chunk)
            return self.base._replace(position=position,
                                      handed=self.base.handed + sum(m.targets for m in marks))
        return None


def write_atomically(path: str, text: str) -> None:
    """Replace `path` with `text`: never a partial file, never through a planted link."""
    directory, name = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
