"""How fast the codec builds and parses frames on one core.

Prints frames built per second (SYN from the template, IPv4 and IPv6, and an ACK carrying an
HTTP probe) and segments parsed per second (a SYN-ACK, a data segment, IPv6), each measured
for about a second, against targets of 400,000/s. Every frame costs one Python
call from a loop, as it does for the scanner's own callers.
"""
import time

from lzr.wire import ACK, PSH, SYN, FrameBuilder, parse_addr, parse_frame

TARGET_RATE = 400_000
SECONDS = 1.0
MAC_A, MAC_B = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
HTTP_PROBE = b"GET / HTTP/1.1\r\nHost: 192.0.2.77\r\nUser-Agent: Mozilla/5.0 zgrab/0.x\r\nAccept: */*\r\n\r\n"


def rate(step, chunk: int = 20_000) -> float:
    """Calls of `step(i)` per second, in chunks, for about SECONDS."""
    done, start = 0, time.perf_counter()
    while True:
        for i in range(done, done + chunk):
            step(i)
        done += chunk
        elapsed = time.perf_counter() - start
        if elapsed >= SECONDS:
            return done / elapsed


def main() -> None:
    v4 = FrameBuilder(MAC_A, MAC_B, parse_addr("192.0.2.1")[1], 4)
    v6 = FrameBuilder(MAC_A, MAC_B, parse_addr("2001:db8::1")[1], 6)
    base4, base6 = parse_addr("198.18.0.0")[1], parse_addr("2001:db8:1::")[1]
    syn4, syn6, segment4 = v4.syn, v6.syn, v4.segment

    build = {
        "SYN IPv4": lambda i: syn4(base4 + (i & 0xFFFF), 32768 + (i & 0x3FFF), 80, i),
        "SYN IPv6": lambda i: syn6(base6 + (i & 0xFFFF), 32768 + (i & 0x3FFF), 80, i),
        "ACK+HTTP probe IPv4": lambda i: segment4(base4 + (i & 0xFFFF), 40000, 80, i, 7, PSH | ACK, 502, HTTP_PROBE),
    }
    synack4 = FrameBuilder(MAC_B, MAC_A, base4 + 5, 4).segment(v4.src_ip, 80, 40000, 1, 2, SYN | ACK, 64240)
    data4 = FrameBuilder(MAC_B, MAC_A, base4 + 5, 4).segment(
        v4.src_ip, 80, 40000, 1, 2, PSH | ACK, 64240, b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n" * 8)
    data6 = FrameBuilder(MAC_B, MAC_A, base6 + 5, 6).segment(v6.src_ip, 80, 40000, 1, 2, PSH | ACK, 64240, b"SSH-2.0-x\r\n")
    parse = {
        "SYN-ACK IPv4": lambda i: parse_frame(synack4),
        "data 288 B IPv4": lambda i: parse_frame(data4),
        "data IPv6": lambda i: parse_frame(data6),
    }
    verdicts = []
    for title, cases in (("frames built per second", build), ("segments parsed per second", parse)):
        print(f"{title} (one core, target >= {TARGET_RATE:,}/s):")
        for name, step in cases.items():
            measured = rate(step)
            verdicts.append(measured >= TARGET_RATE)
            print(f"  {name:<22} {measured:>12,.0f}/s  {'ok' if measured >= TARGET_RATE else 'BELOW TARGET'}")
    print("all targets met" if all(verdicts) else "some targets missed")


if __name__ == "__main__":
    main()
