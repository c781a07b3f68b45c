"""PacketSocket across a veth pair in namespaces this test creates (and always removes)."""
import errno
from hashlib import sha256
import socket

import pytest

from lzr.runtime.kernel_tables import interface_index, interface_mac
from lzr.runtime.packet_socket import (PACKET_IGNORE_OUTGOING, SOL_PACKET, PacketSocket, SendError,
                                       run_in_netns)
from lzr.wire import ACK, PSH, FrameBuilder, parse_addr, parse_frame
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

SENDER_IP, RECEIVER_IP = "10.201.0.1", "10.201.0.2"



@pytest.fixture
def pair():
    """(sender socket, receiver socket, builder for sender -> receiver frames)."""
    with NetnsLab() as lab:
        sender, receiver = lab.add_host("snd"), lab.add_host("rcv")
        send_if, receive_if = lab.link(sender, receiver, f"{SENDER_IP}/24", f"{RECEIVER_IP}/24")
        send_sock = run_in_netns(sender.netns, lambda: PacketSocket(send_if))
        receive_sock = run_in_netns(receiver.netns, lambda: PacketSocket(receive_if))
        try:
            builder = FrameBuilder(send_sock.mac, receive_sock.mac, parse_addr(SENDER_IP)[1], 4)
            yield send_sock, receive_sock, builder
        finally:
            send_sock.close()
            receive_sock.close()


def receive_all(sock: PacketSocket, expected: int, timeout: float = 2.0) -> list[bytes]:
    frames: list[bytes] = []
    while len(frames) < expected:
        batch = sock.receive(timeout=timeout)
        if not batch:
            break
        frames += batch
    return frames


def frames_for(builder: FrameBuilder, count: int) -> list[bytes]:
    """ACKs numbered by seq, with payloads of varying length so the iovec lengths vary."""
    dst = parse_addr(RECEIVER_IP)[1]
    return [builder.segment(dst, 40000, 9, seq, 1, PSH | ACK, 512, bytes([seq % 251]) * (seq % 300))
            for seq in range(count)]


def test_send_batch_delivers_every_frame_once(pair):
    send_sock, receive_sock, builder = pair
    frames = frames_for(builder, 1000)
    assert send_sock.send_batch(frames) == 1000
    received = [parse_frame(frame) for frame in receive_all(receive_sock, 1000)]
    assert sorted(segment.seq for segment in received) == list(range(1000))
    assert all(segment.payload == bytes([segment.seq % 251]) * (segment.seq % 300) for segment in received)


def test_send_loop_fallback_delivers_every_frame(pair):
    send_sock, receive_sock, builder = pair
    send_sock._batch = None  # as on a libc without sendmmsg
    assert send_sock.send_batch(frames_for(builder, 50)) == 50
    assert sorted(parse_frame(f).seq for f in receive_all(receive_sock, 50)) == list(range(50))


def test_single_send_and_received_frame_is_the_sent_one(pair):
    send_sock, receive_sock, builder = pair
    frame = frames_for(builder, 7)[6]
    assert send_sock.send(frame) == len(frame)
    assert receive_all(receive_sock, 1) == [frame]


@pytest.mark.parametrize("skipped_by", ["kernel", "receive"])
def test_frames_this_host_sends_are_not_received(skipped_by):
    """The workers send on their own sockets; the receiver's socket on the same interface must
    not see those frames (the kernel never loops a frame back to the socket that sent it)."""
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        scan_if, target_if = lab.link(scanner, target, f"{SENDER_IP}/24", f"{RECEIVER_IP}/24")
        listen = run_in_netns(scanner.netns, lambda: PacketSocket(scan_if))
        worker = run_in_netns(scanner.netns, lambda: PacketSocket(scan_if, protocol=0, program=None))
        peer = run_in_netns(target.netns, lambda: PacketSocket(target_if))
        with listen, worker, peer:
            if skipped_by == "receive":  # as on a kernel without PACKET_IGNORE_OUTGOING
                listen.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 0)
                listen._kernel_skips_outgoing = False
            sent = frames_for(FrameBuilder(worker.mac, peer.mac, parse_addr(SENDER_IP)[1], 4), 5)
            worker.send_batch(sent)
            assert len(receive_all(peer, 5)) == 5
            # The target's kernel answers the unexpected segments with RSTs; those do arrive.
            back = listen.receive(timeout=0.3)
            assert not set(sent) & set(back)
            assert all(parse_frame(frame).src_mac == peer.mac for frame in back)


def test_receive_times_out_empty(pair):
    _, receive_sock, _ = pair
    assert receive_sock.receive(timeout=0.05) == []


def test_interface_lookups_answer_for_the_namespace():
    with NetnsLab() as lab:
        a, b = lab.add_host("a"), lab.add_host("b")
        a_if, _ = lab.link(a, b)
        mac, index, sock_mac = run_in_netns(a.netns, lambda: (
            interface_mac(a_if), interface_index(a_if), PacketSocket(a_if).mac))
        assert mac.hex(":") == a.mac(a_if) == sock_mac.hex(":")
        assert index == int(a.cmd("cat", f"/sys/class/net/{a_if}/ifindex").stdout)


def test_statistics_count_frames_that_passed_the_filter(pair):
    send_sock, receive_sock, builder = pair
    receive_sock.statistics()  # reset
    send_sock.send_batch(frames_for(builder, 20))
    receive_all(receive_sock, 20)
    packets, drops = receive_sock.statistics()
    assert (packets, drops) == (20, 0)


@pytest.mark.parametrize("fallback", [False, True], ids=["sendmmsg", "send-loop"])
def test_refused_batch_raises_with_the_count_sent(fallback):
    with NetnsLab() as lab:
        a, b = lab.add_host("a"), lab.add_host("b")
        a_if, _ = lab.link(a, b)
        with run_in_netns(a.netns, lambda: PacketSocket(a_if, protocol=0, program=None)) as sock:
            if fallback:
                sock._batch = None
            a.cmd("ip", "link", "set", a_if, "down")
            builder = FrameBuilder(sock.mac, sock.mac, 1, 4)
            with pytest.raises(SendError) as caught:
                sock.send_batch([builder.syn(2, 1, 2, 3)] * 3)
            assert caught.value.sent == 0 and caught.value.errno == errno.ENETDOWN


def test_receives_whole_gso_super_segments():
    """With offloads on, veth hands a kernel TCP stream over in segments far above the MTU."""
    data = bytes(range(256)) * 1200  # 300 KiB
    with NetnsLab() as lab:
        client, server = lab.add_host("cli"), lab.add_host("srv")
        client_if, server_if = lab.link(client, server, f"{SENDER_IP}/24", f"{RECEIVER_IP}/24",
                                       offload=True)
        capture = run_in_netns(server.netns, lambda: PacketSocket(server_if))
        listener = run_in_netns(server.netns, lambda: socket.create_server((RECEIVER_IP, 9000)))
        connection = run_in_netns(client.netns, lambda: socket.socket())
        with capture, listener, connection:
            connection.connect((RECEIVER_IP, 9000))
            accepted, _ = listener.accept()
            with accepted:
                connection.sendall(data)
                connection.shutdown(socket.SHUT_WR)
                received = b"".join(iter(lambda: accepted.recv(65536), b""))
            captured = [parse_frame(frame) for frame in receive_all(capture, 10_000, timeout=0.5)]
    segments = [s for s in captured if s.dport == 9000 and s.payload]
    # Reassemble by offset: under load the kernel may retransmit a range re-cut differently.
    base = segments[0].seq
    streamed = bytearray(len(data))
    covered = 0
    for segment in segments:
        offset = (segment.seq - base) % 2**32
        streamed[offset:offset + len(segment.payload)] = segment.payload
        covered = max(covered, offset + len(segment.payload))
    # Compared as lengths and digests: pytest's diff of two 300 KiB values takes minutes.
    assert (len(received), sha256(received).hexdigest()) == (len(data), sha256(data).hexdigest())
    assert covered == len(data)
    assert sha256(streamed).hexdigest() == sha256(data).hexdigest()
    assert max(len(s.payload) for s in segments) > 1500


@pytest.mark.parametrize("fallback", [False, True], ids=["sendmmsg", "send-loop"])
def test_full_device_queue_raises_with_the_count_that_went_out(fallback):
    """A slow qdisc (tbf) refuses frames with ENOBUFS part way through a batch; exactly the
    frames counted as sent reach the peer."""
    with NetnsLab() as lab:
        a, b = lab.add_host("a"), lab.add_host("b")
        a_if, b_if = lab.link(a, b)
        a.cmd("tc", "qdisc", "add", "dev", a_if, "root", "tbf", "rate", "1mbit", "burst", "1600", "limit", "3000")
        sender = run_in_netns(a.netns, lambda: PacketSocket(a_if, protocol=0, program=None))
        peer = run_in_netns(b.netns, lambda: PacketSocket(b_if))
        with sender, peer:
            if fallback:
                sender._batch = None
            builder = FrameBuilder(sender.mac, peer.mac, parse_addr(SENDER_IP)[1], 4)
            with pytest.raises(SendError) as caught:
                sender.send_batch(frames_for(builder, 300))
            assert caught.value.errno == errno.ENOBUFS and 0 < caught.value.sent < 300
            arrived = receive_all(peer, 300, timeout=0.5)
            assert sorted(parse_frame(frame).seq for frame in arrived) == list(range(caught.value.sent))
