"""A worker resumes a batch where a full device queue (ENOBUFS) stopped it."""
import errno
from types import SimpleNamespace

import pytest

from lzr.runtime import worker
from lzr.runtime.packet_socket import SendError


class QueueFullOnce:
    """Accepts `room` frames, refuses the rest with ENOBUFS `refusals` times, then all."""

    def __init__(self, room: int, refusals: int, error: int = errno.ENOBUFS) -> None:
        self.room, self.refusals, self.error = room, refusals, error
        self.delivered: list[bytes] = []

    def send_batch(self, frames: list[bytes]) -> int:
        if self.refusals:
            self.refusals -= 1
            taken = frames[:self.room]
            self.delivered += taken
            raise SendError(self.error, len(taken))
        self.delivered += frames
        return len(frames)


def sender(sock) -> SimpleNamespace:
    return SimpleNamespace(sock=sock, sent=0, index=0)


def test_a_full_queue_delays_the_rest_of_the_batch_but_loses_nothing():
    frames = [bytes([i]) for i in range(10)]
    sock = QueueFullOnce(room=3, refusals=2)
    state = sender(sock)
    worker.Worker._send_all(state, frames)
    assert sock.delivered == frames
    assert state.sent == 10


def test_frames_refused_past_the_retry_time_are_dropped_and_reported(monkeypatch, capsys):
    monkeypatch.setattr(worker, "SEND_RETRY_SECONDS", 0.0)
    sock = QueueFullOnce(room=4, refusals=1_000_000)
    state = sender(sock)
    worker.Worker._send_all(state, [b"x"] * 10)
    assert state.sent == 4
    assert "6 frames dropped" in capsys.readouterr().err


def test_other_send_errors_are_not_retried():
    state = sender(QueueFullOnce(room=0, refusals=1, error=errno.ENETDOWN))
    with pytest.raises(SendError):
        worker.Worker._send_all(state, [b"x"])
