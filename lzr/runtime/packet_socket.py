"""Raw Ethernet frames in and out of one interface: AF_PACKET, a BPF filter, sendmmsg.

This is the scanner's only packet I/O. Receiving: `receive()` waits for the first frame and
drains what else is queued with one `recvmmsg` system call per batch, each frame read whole
(up to the largest IP packet: veth can deliver GSO super-segments of 64 KiB), skipping frames
this host sent itself. Sending: `send()` one frame, `send_batch()` many with one `sendmmsg`
system call per batch, and `RowSender` the rows of one numpy buffer (a sender's SYN batch)
without copying them. The batch calls go through ctypes; where libc or the kernel lacks what
they need, a per-frame loop does the same work.
"""
from __future__ import annotations

import ctypes
import errno
import os
import select
import socket
import struct
import threading
import time
from typing import Callable, Sequence, TypeVar

import numpy as np

from lzr.runtime.kernel_tables import interface_index
from lzr.runtime.netns import enter_netns
from lzr.wire.bpf import PROGRAM, Instruction, pack_filter

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4          # sockaddr_ll.sll_pkttype of a frame this host sent
SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20     # frames go straight to the driver, past the queueing discipline
PACKET_IGNORE_OUTGOING = 23  # Linux >= 4.20: the kernel stops copying our own sends to us
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33          # like SO_RCVBUF but may exceed net.core.rmem_max (needs CAP_NET_ADMIN)
PACKET_STATISTICS = 6        # struct tpacket_stats {tp_packets, tp_drops}, reset by each read

MAX_FRAME = 14 + 4 + 40 + 0xFFFF  # Ethernet, one VLAN tag, IPv6 header, the largest payload
DEFAULT_RCVBUF = 64 * 1024 * 1024
DEFAULT_BATCH = 256

T = TypeVar("T")


class SendError(OSError):
    """The kernel refused a frame of a batch; `sent` frames before it did go out."""

    def __init__(self, error: int, sent: int) -> None:
        super().__init__(error, f"{os.strerror(error)} after {sent} frames of the batch")
        self.sent = sent


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_Iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


_libc = ctypes.CDLL(None, use_errno=True)  # the C library the interpreter is linked with
_sendmmsg = getattr(_libc, "sendmmsg", None)
if _sendmmsg is not None:
    _sendmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int]
    _sendmmsg.restype = ctypes.c_int
_recvmmsg = getattr(_libc, "recvmmsg", None)
if _recvmmsg is not None:
    _recvmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int,
                          ctypes.c_void_p]
    _recvmmsg.restype = ctypes.c_int


def run_in_netns(netns: str, function: Callable[[], T]) -> T:
    """Call `function` in a thread that joined the named network namespace; return its result.

    Sockets keep the namespace they were created in, so a socket opened this way can be used
    from any thread afterwards. `netns` is a name from `ip netns` or a path to a namespace file.
    """
    outcome: dict[str, object] = {}

    def body() -> None:
        try:
            enter_netns(netns)
            outcome["value"] = function()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=body, name=f"netns:{netns}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]



def _point_messages(messages, iovecs, base: int, stride: int) -> None:
    """Message i of `messages` (through iovec i) covers the `stride` bytes at base + i * stride."""
    for index in range(len(iovecs)):
        iovecs[index].iov_base = base + index * stride
        iovecs[index].iov_len = stride
        header = messages[index].msg_hdr
        header.msg_iov = ctypes.pointer(iovecs[index])
        header.msg_iovlen = 1

class PacketSocket:
    """An AF_PACKET socket bound to one interface, optionally with a BPF filter.

    `protocol` is the EtherType to receive (ETH_P_ALL, ETH_P_IP, ETH_P_IPV6), or 0 for a
    send-only socket that never queues a frame. `program` defaults to the scanner's capture
    filter (`lzr.wire.bpf.PROGRAM`); pass None to receive everything. The filter is attached
    before the socket is bound, so no unfiltered frame is ever queued.
    """

    def __init__(self, ifname: str, protocol: int = ETH_P_ALL,
                 program: Sequence[Instruction] | None = PROGRAM,
                 rcvbuf: int = DEFAULT_RCVBUF, batch: int = DEFAULT_BATCH,
                 qdisc_bypass: bool = False) -> None:
        self.ifname = ifname
        # Protocol 0 until bind: an unbound packet socket with protocol 0 receives nothing.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            if program is not None:
                self._attach_filter(program)
            self._set_rcvbuf(rcvbuf)
            if qdisc_bypass:
                try:
                    self.sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
                except OSError:  # older kernel: frames take the usual path
                    pass
            try:
                self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                self._kernel_skips_outgoing = True
            except OSError:  # older kernel: receive() reads each frame's type and skips our own
                self._kernel_skips_outgoing = False
            self.sock.bind((ifname, protocol))
        except BaseException:
            self.sock.close()
            raise
        self.mac: bytes = self.sock.getsockname()[4]
        self.index = interface_index(ifname)
        self._receive_view = memoryview(bytearray(MAX_FRAME))
        self._receive_batch: _ReceiveBatch | None = None
        self._batch_size = batch
        self._batch = _SendBatch(batch) if _sendmmsg is not None else None

    def _attach_filter(self, program: Sequence[Instruction]) -> None:
        code = ctypes.create_string_buffer(pack_filter(program))
        fprog = _SockFprog(len(program), ctypes.addressof(code))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))

    def _set_rcvbuf(self, size: int) -> None:
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "PacketSocket":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def receive(self, max_frames: int = 256, timeout: float | None = None) -> list[bytes]:
        """Frames received on the interface: waits up to `timeout` seconds (None: forever) for
        the first, then takes whatever else is already queued, up to `max_frames`.

        Returns an empty list on timeout. Frames sent by this host are left out.
        """
        frames: list[bytes] = []
        if not select.select([self.sock], [], [], timeout)[0]:
            return frames
        if self._kernel_skips_outgoing and _recvmmsg is not None:
            if self._receive_batch is None:  # 16 MiB of slots: only sockets that receive pay for it
                self._receive_batch = _ReceiveBatch(self._batch_size)
            while len(frames) < max_frames:
                batch = self._receive_batch.receive(self.sock.fileno(), max_frames - len(frames))
                frames += batch
                if len(batch) < self._receive_batch.capacity:
                    break
            return frames
        # Frame by frame, reading each frame's packet type to skip this host's own.
        view, recvfrom_into = self._receive_view, self.sock.recvfrom_into
        while len(frames) < max_frames:
            try:
                length, address = recvfrom_into(view, MAX_FRAME, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if address[2] != PACKET_OUTGOING:
                frames.append(bytes(view[:length]))
        return frames

    def statistics(self) -> tuple[int, int]:
        """(frames that passed the filter, how many of them were dropped for lack of buffer space)
        since the last call."""
        packets, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return packets, drops

    def send(self, frame: bytes) -> int:
        """Send one whole Ethernet frame; returns the bytes sent."""
        return self.sock.send(frame)

    def send_batch(self, frames: Sequence[bytes]) -> int:
        """Send every frame, `batch` frames per system call; returns the number sent.

        Raises `SendError` if the kernel refuses a frame (for example ENOBUFS when the device
        queue is full, ENETDOWN); its `sent` says how many frames went out before it.
        """
        sent = 0
        if self._batch is None:
            for frame in frames:
                try:
                    self.sock.send(frame)
                except OSError as error:
                    raise SendError(error.errno, sent) from None
                sent += 1
            return sent
        step = self._batch.capacity
        fd = self.sock.fileno()
        for start in range(0, len(frames), step):
            try:
                sent += self._batch.send(fd, frames[start:start + step])
            except SendError as error:
                raise SendError(error.errno, sent + error.sent) from None
        return sent


class RowSender:
    """Sends rows of one C-contiguous (capacity, frame length) uint8 array with sendmmsg, each
    row one frame, straight from the array's memory (the messages point into it).

    The array must stay alive and in place as long as this object is used.
    """

    def __init__(self, sock: PacketSocket, rows: np.ndarray) -> None:
        if rows.ndim != 2 or rows.dtype != np.uint8 or not rows.flags.c_contiguous:
            raise ValueError("rows must be a C-contiguous 2-D uint8 array")
        self.fd = sock.fileno()
        self.sock = sock
        self.rows = rows
        capacity, length = rows.shape
        self.messages = (_Mmsghdr * capacity)()
        self.iovecs = (_Iovec * capacity)()
        _point_messages(self.messages, self.iovecs, rows.ctypes.data, length)
        self._base = ctypes.addressof(self.messages)

    def send(self, first: int, count: int) -> int:
        """Send rows [first, first + count); returns how many went out. Raises SendError
        (with `sent`) when the kernel refuses one (ENOBUFS: the device queue is full)."""
        if _sendmmsg is None:
            sent = 0
            for row in self.rows[first:first + count]:
                try:
                    self.sock.send(row.tobytes())
                except OSError as error:
                    raise SendError(error.errno, sent) from None
                sent += 1
            return sent
        return _send_messages(self.fd, self._base + first * ctypes.sizeof(_Mmsghdr), count)

    def send_waiting(self, count: int, patience: float | None = None) -> int:
        """Send rows [0, count), waiting while the device queue is full (ENOBUFS), for
        `patience` seconds at most (None: as long as it takes); returns how many went out."""
        deadline = None if patience is None else time.monotonic() + patience
        pause, done = 0.0002, 0
        while done < count:
            try:
                done += self.send(done, count - done)
            except SendError as error:
                if error.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                done += error.sent
                if deadline is not None and time.monotonic() > deadline:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
        return done


class _SendBatch:
    """Reusable sendmmsg arguments: one message per frame, each pointing into one buffer.

    The frames of a batch are joined and copied into the buffer in one go; the iovec lengths
    are only rewritten when the frame sizes differ from the previous batch (a run of SYNs
    never rewrites them), so the per-frame cost in Python is close to nothing.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.messages = (_Mmsghdr * capacity)()
        self.iovecs = (_Iovec * capacity)()
        for index in range(capacity):
            header = self.messages[index].msg_hdr
            header.msg_iov = ctypes.pointer(self.iovecs[index])
            header.msg_iovlen = 1
        self.buffer = ctypes.create_string_buffer(0)
        self.lengths: list[int] = []

    def _layout(self, lengths: list[int], size: int) -> None:
        if size > ctypes.sizeof(self.buffer):
            self.buffer = ctypes.create_string_buffer(max(size, 2 * ctypes.sizeof(self.buffer)))
        base = ctypes.addressof(self.buffer)
        position = 0
        for iovec, length in zip(self.iovecs, lengths):
            iovec.iov_base = base + position
            iovec.iov_len = length
            position += length
        self.lengths = lengths

    def send(self, fd: int, frames: Sequence[bytes]) -> int:
        lengths = list(map(len, frames))
        data = b"".join(frames)
        if lengths != self.lengths[:len(lengths)] or len(data) > ctypes.sizeof(self.buffer):
            self._layout(lengths, len(data))
        ctypes.memmove(self.buffer, data, len(data))
        return _send_messages(fd, ctypes.addressof(self.messages), len(frames))


def _send_messages(fd: int, address: int, count: int) -> int:
    """sendmmsg the `count` messages of an array at `address`, resuming after a partial send
    or EINTR; SendError (with how many went out) on any other error."""
    size, done = ctypes.sizeof(_Mmsghdr), 0
    while done < count:
        pointer = ctypes.cast(address + done * size, ctypes.POINTER(_Mmsghdr))
        result = _sendmmsg(fd, pointer, count - done, 0)
        if result < 0:
            error = ctypes.get_errno()
            if error == errno.EINTR:
                continue
            raise SendError(error, done)
        done += result
    return done


class _ReceiveBatch:
    """Reusable recvmmsg arguments: `capacity` slots of MAX_FRAME bytes, one message each.

    The message array lives in a bytearray so the frame lengths the kernel writes into it
    (`msg_len`) can be read for the whole batch at once through a memoryview.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.buffer = bytearray(capacity * MAX_FRAME)
        self.view = memoryview(self.buffer)
        self.raw_messages = bytearray(ctypes.sizeof(_Mmsghdr) * capacity)
        self.messages = (_Mmsghdr * capacity).from_buffer(self.raw_messages)
        self.iovecs = (_Iovec * capacity)()
        _point_messages(self.messages, self.iovecs,
                        ctypes.addressof(ctypes.c_char.from_buffer(self.buffer)), MAX_FRAME)
        words = memoryview(self.raw_messages).cast("I")
        stride = ctypes.sizeof(_Mmsghdr) // 4
        self.lengths = words[_Mmsghdr.msg_len.offset // 4::stride]

    def receive(self, fd: int, limit: int) -> list[bytes]:
        """The frames already queued, at most min(limit, capacity); never blocks."""
        while True:
            count = _recvmmsg(fd, self.messages, min(limit, self.capacity), socket.MSG_DONTWAIT, None)
            if count >= 0:
                break
            error = ctypes.get_errno()
            if error in (errno.EAGAIN, errno.EWOULDBLOCK):
                return []
            if error != errno.EINTR:
                raise OSError(error, os.strerror(error))
        view, starts = self.view, range(0, count * MAX_FRAME, MAX_FRAME)
        return [bytes(view[start:start + length])
                for start, length in zip(starts, self.lengths[:count].tolist())]
