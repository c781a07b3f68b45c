"""Checkpoints from the senders' marks: a round counts once its last SYN pass is over, -t has
passed, and the workers have every answer before then recorded."""
import os

from lzr.runtime.checkpoints import Marks, write_atomically
from lzr.runtime.frames import SenderMark
from lzr.targets.ranges import Checkpoint

BASE = Checkpoint(seed=7, shards=1, shard=0, space="abc", position=100, handed=90)


def marks(senders: int = 2, chunk: int = 10, slice_length: int = 1000) -> Marks:
    return Marks(BASE, senders, chunk, slice_length, answer_wait=1.0)


def test_a_round_needs_every_sender_and_the_answer_wait():
    m = marks()
    m.add(0, [SenderMark(1, 10, 5.0, False), SenderMark(2, 20, 6.0, False)])
    assert m.newest(finished_before=100.0) is None          # sender 1 has reported nothing
    m.add(1, [SenderMark(1, 9, 5.5, False)])
    assert m.newest(finished_before=6.4) is None             # round 1's last pass was at 5.5
    checkpoint = m.newest(finished_before=6.5)
    assert (checkpoint.position, checkpoint.handed) == (100 + 1 * 2 * 10, 90 + 10 + 9)
    assert m.newest(finished_before=6.5) is None             # nothing newer
    m.add(1, [SenderMark(2, 19, 6.2, False)])
    assert m.newest(finished_before=7.2).position == 100 + 2 * 2 * 10


def test_finished_streams_count_for_every_later_round():
    m = marks(slice_length=130)
    m.add(0, [SenderMark(1, 10, 1.0, False), SenderMark(2, 18, 2.0, True)])
    m.add(1, [SenderMark(1, 7, 1.0, True)])
    checkpoint = m.newest(finished_before=10.0)
    assert (checkpoint.position, checkpoint.handed) == (130, 90 + 18 + 7)  # the whole slice


def test_a_stream_with_nothing_to_send_is_finished_at_once():
    m = marks(senders=1)
    m.add(0, [SenderMark(0, 0, 1.0, True)])
    checkpoint = m.newest(finished_before=2.0)
    assert checkpoint is None or checkpoint.position == 100


def test_the_file_is_replaced_whole(tmp_path):
    path = tmp_path / "scan.checkpoint"
    write_atomically(str(path), "first\n")
    write_atomically(str(path), "second\n")
    assert path.read_text() == "second\n"
    assert os.listdir(tmp_path) == ["scan.checkpoint"]


def test_links_planted_where_the_file_goes_are_not_followed(tmp_path):
    """A link at the old predictable temporary name, and one at the checkpoint's own name: the
    files they point at stay as they were; the checkpoint becomes a file of its own."""
    victim, other = tmp_path / "victim", tmp_path / "other"
    victim.write_text("precious\n")
    other.write_text("also precious\n")
    path = tmp_path / "scan.checkpoint"
    (tmp_path / "scan.checkpoint.tmp").symlink_to(victim)
    path.symlink_to(other)
    write_atomically(str(path), '{"lzr_checkpoint":1}\n')
    assert victim.read_text() == "precious\n" and other.read_text() == "also precious\n"
    assert not path.is_symlink() and path.read_text() == '{"lzr_checkpoint":1}\n'
    assert os.stat(path).st_mode & 0o777 == 0o600       # mkstemp's mode: not the umask's
