"""The NFQUEUE programs behind two behaviours, run inside the host they change:

    python -m lzr_sim.behaviours.nfqueue zero-window --queue N [--listen PORT [--listen-address A]]
    python -m lzr_sim.behaviours.nfqueue delay --queue N --ms D

`zero-window` rewrites the TCP window field of every queued segment to 0 and recomputes the
TCP checksum (IPv4 and IPv6 without extension headers). With `--listen` it also plays the
SYN proxy's listening side: it accepts connections on PORT (where the host's iptables
redirect every port) and holds them without reading, as a zero window promises. `delay`
holds every queued packet for D milliseconds and then lets it go; packets leave in the order
they came. Each prints `READY` on stdout once bound to its queue; on SIGTERM or SIGINT it
releases the packets it holds and exits 0. Which packets reach the queue is the iptables rule's business
(lzr_sim.behaviours installs it).
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections import deque

from lzr.wire import MalformedPacket, parse_ip, tcp_checksum
from lzr.wire.headers import IPV4, IPV6, TCP
from lzr_sim.extras import missing_extra

_WINDOW = slice(TCP.offset("window"), TCP.offset("window") + 2)
_CHECKSUM = slice(TCP.offset("checksum"), TCP.offset("checksum") + 2)


def zero_window(packet: bytes) -> bytes:
    """`packet` (an IP packet) with its TCP window set to 0 and the checksum fixed.

    Anything that is not a TCP segment lzr.wire can read (another protocol, an IPv6 extension
    header, bytes that break the formats) passes unchanged: the kernel judges it as it would
    without us.
    """
    try:
        segment = parse_ip(packet)
    except MalformedPacket:
        return packet
    if segment is None:
        return packet
    start = (packet[IPV4.offset("version_ihl")] & 0x0F) * 4 if segment.version == 4 else IPV6.size
    header_length = (packet[start + TCP.offset("offset_reserved")] >> 4) * 4
    end = start + header_length + len(segment.payload)
    tcp = bytearray(packet[start:end])
    tcp[_WINDOW] = tcp[_CHECKSUM] = b"\x00\x00"  # the checksum is computed over a zero field
    tcp[_CHECKSUM] = tcp_checksum(segment.saddr, segment.daddr, bytes(tcp)).to_bytes(2, "big")
    return packet[:start] + bytes(tcp) + packet[end:]


class Delayer:
    """Holds packets for a fixed time; they leave in arrival order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop, self.seconds = loop, seconds
        self.held: deque = deque()  # (due time, packet), oldest first

    def hold(self, packet) -> None:
        self.held.append((self.loop.time() + self.seconds, packet))
        if len(self.held) == 1:
            self.loop.call_later(self.seconds, self.release_due)

    def release_due(self) -> None:
        now = self.loop.time()
        while self.held and self.held[0][0] <= now:
            self.held.popleft()[1].accept()
        if self.held:
            self.loop.call_at(self.held[0][0], self.release_due)

    def release_all(self) -> None:
        while self.held:
            self.held.popleft()[1].accept()


class Holder(asyncio.Protocol):
    """An accepted connection that is never read from and never answered."""

    def connection_made(self, transport) -> None:
        transport.pause_reading()


def run(queue: int, program: str, milliseconds: float, listen: tuple[str, int] | None) -> int:
    """Serve `queue` with `program` until SIGTERM/SIGINT."""
    from netfilterqueue import NetfilterQueue  # the `nfqueue` extra; main() says so when it is missing

    loop = asyncio.new_event_loop()
    delayer = Delayer(loop, milliseconds / 1000.0)
    listener = loop.run_until_complete(loop.create_server(Holder, *listen)) if listen else None

    def on_packet(packet) -> None:
        if program == "zero-window":
            packet.set_payload(zero_window(packet.get_payload()))
            packet.accept()
        else:
            delayer.hold(packet)

    nfq = NetfilterQueue()
    nfq.bind(queue, on_packet, max_len=4096)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_reader(nfq.get_fd(), lambda: nfq.run(block=False))
    print("READY", flush=True)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        loop.remove_reader(nfq.get_fd())
        delayer.release_all()
        nfq.unbind()
        if listener is not None:
            listener.close()
        loop.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lzr_sim.behaviours.nfqueue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("program", choices=("zero-window", "delay"))
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--ms", type=float, default=0.0, help="delay in milliseconds (delay only)")
    parser.add_argument("--listen", type=int,
                        help="port to accept and hold connections on (zero-window only)")
    parser.add_argument("--listen-address", default="0.0.0.0")
    args = parser.parse_args(argv)
    listen = (args.listen_address, args.listen) if args.listen is not None else None
    try:
        return run(args.queue, args.program, args.ms, listen)
    except ModuleNotFoundError as error:
        message = missing_extra(error)
        if message is None:
            raise
        print(f"FAILED {message}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
