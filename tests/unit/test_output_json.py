"""Record serialisation: Go encoding/json string rules and LZR's field table
(docs/lzr-reference.md §4.2, §4.1)."""
import base64
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.output import EncodeError, Record, RecordEncoder, encode_record
from lzr.output.gojson import quote_bytes, quote_text
from lzr.output.record import EXTENDED_FIELDS, FIELDS, Outcome


def go_quote(raw: bytes) -> bytes:
    """What Go's json.Marshal writes for a string holding `raw` (inside the quotes)."""
    return quote_bytes(raw).encode("utf-8")[1:-1]


@pytest.mark.parametrize("raw, expected", [
    (b"plain ascii 123", b"plain ascii 123"),
    (b"", b""),
    (b'say "hi"', b'say \\"hi\\"'),
    (b"back\\slash", b"back\\\\slash"),
    (b"\n\r\t", b"\\n\\r\\t"),
    (b"\x08\x0c", b"\\b\\f"),
    (b"\x00\x01\x1f", b"\\u0000\\u0001\\u001f"),
    (b"\x0b\x1a\x1b", b"\\u000b\\u001a\\u001b"),       # lowercase hex
    (b"<a href='x'>&amp;</a>", b"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e"),
    (b"\x7f", b"\x7f"),                                  # DEL is not escaped
    (b"/", b"/"),                                        # nor is the slash
    # Valid UTF-8 passes through raw: 2, 3 and 4 byte sequences.
    ("é".encode(), "é".encode()),
    ("€".encode(), "€".encode()),
    ("😀".encode(), "😀".encode()),
    ("\ufffd".encode(), "\ufffd".encode()),              # a real U+FFFD stays raw
    # Line and paragraph separators are escaped, their neighbours are not.
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
    ("\u2027\u202a".encode(), "\u2027\u202a".encode()),
    # One \ufffd per byte that does not start a valid sequence.
    (b"\xff", b"\\ufffd"),
    (b"\x80\x80", b"\\ufffd\\ufffd"),
    (b"\xc3", b"\\ufffd"),                               # truncated 2-byte at the end
    (b"\xe2\x82", b"\\ufffd\\ufffd"),                    # truncated 3-byte: two escapes, not one
    (b"\xe2\x82A", b"\\ufffd\\ufffdA"),
    (b"\xf0\x9f\x98", b"\\ufffd\\ufffd\\ufffd"),         # truncated 4-byte
    (b"\xc0\xaf", b"\\ufffd\\ufffd"),                    # overlong "/"
    (b"\xe0\x80\xaf", b"\\ufffd\\ufffd\\ufffd"),         # overlong 3-byte
    (b"\xed\xa0\x80", b"\\ufffd\\ufffd\\ufffd"),         # encoded surrogate U+D800
    (b"\xf4\x90\x80\x80", b"\\ufffd" * 4),               # above U+10FFFF
    (b"\xf5\x80", b"\\ufffd\\ufffd"),
    (b"a\xffb\xc3\xa9c", "a\\ufffdbéc".encode()),        # bad byte between valid text
    (b"\x16\x03\x01\x00\xa5<", b"\\u0016\\u0003\\u0001\\u0000\\ufffd\\u003c"),  # TLS-ish
])
def test_go_string_escaping(raw, expected):
    assert go_quote(raw) == expected


def test_quote_text_escapes_like_bytes():
    assert quote_text('a<"b">\n') == '"a\\u003c\\"b\\"\\u003e\\n"'
    assert quote_text("1.2.3.4") == '"1.2.3.4"'


# Go's utf8.DecodeRune, written out from the Unicode table of well-formed byte sequences, as an
# independent oracle for the fuzz test below.
# (lowest, highest first byte), sequence length, (lowest, highest second byte): Unicode's
# table 3-7 of well-formed UTF-8 byte sequences, beyond ASCII.
_UTF8_SEQUENCES = (
    ((0xC2, 0xDF), 2, (0x80, 0xBF)),
    ((0xE0, 0xE0), 3, (0xA0, 0xBF)),
    ((0xE1, 0xEC), 3, (0x80, 0xBF)),
    ((0xED, 0xED), 3, (0x80, 0x9F)),
    ((0xEE, 0xEF), 3, (0x80, 0xBF)),
    ((0xF0, 0xF0), 4, (0x90, 0xBF)),
    ((0xF1, 0xF3), 4, (0x80, 0xBF)),
    ((0xF4, 0xF4), 4, (0x80, 0x8F)),
)


def _go_decode_rune(raw: bytes, i: int) -> tuple[int | None, int]:
    first = raw[i]
    if first < 0x80:
        return first, 1
    for (first_low, first_high), length, (low, high) in _UTF8_SEQUENCES:
        if first_low <= first <= first_high:
            break
    else:
        return None, 1
    if i + length > len(raw) or not low <= raw[i + 1] <= high:
        return None, 1
    if any(not 0x80 <= raw[i + k] <= 0xBF for k in range(2, length)):
        return None, 1
    return ord(raw[i:i + length].decode("utf-8")), length


def _oracle_quote(raw: bytes) -> bytes:
    short = {0x22: b'\\"', 0x5C: b"\\\\", 0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n",
             0x0D: b"\\r", 0x09: b"\\t"}
    out, i = [], 0
    while i < len(raw):
        rune, size = _go_decode_rune(raw, i)
        if rune is None:
            out.append(b"\\ufffd")
        elif rune in short:
            out.append(short[rune])
        elif rune < 0x20 or rune in (0x3C, 0x3E, 0x26, 0x2028, 0x2029):
            out.append(b"\\u%04x" % rune)
        else:
            out.append(raw[i:i + size])
        i += size
    return b"".join(out)


utf8_heavy_bytes = st.lists(st.one_of(
    st.binary(max_size=8),
    st.text(max_size=4).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xe2\x80\xa8", b"\xed\xa0\x80", b"\xf4\x8f\xbf\xbf", b"\xef\xbf\xbd",
                     b"\xc0", b"\xe0\xa0", b"\xf0\x90\x80"]),
), max_size=12).map(b"".join)


@settings(deadline=None)  # a loaded CI machine must not fail a test on timing
@given(utf8_heavy_bytes)
def test_escaping_matches_go_decoder_oracle(raw):
    assert go_quote(raw) == _oracle_quote(raw)


def _go_text(raw: bytes) -> str:
    """The text Go's string holds after decoding: one U+FFFD per invalid byte."""
    runes, i = [], 0
    while i < len(raw):
        rune, size = _go_decode_rune(raw, i)
        runes.append("\ufffd" if rune is None else chr(rune))
        i += size
    return "".join(runes)


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_always_give_valid_json(raw):
    line = encode_record(make_record(data=raw))
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    decoded = json.loads(line)
    if raw:
        assert decoded["data"] == _go_text(raw)
    else:
        assert "data" not in decoded


def make_record(**changes) -> Record:
    base = Record(
        saddr="192.0.2.10", daddr="198.51.100.2", sport=8080, dport=40001,
        seqnum=3405691582, acknum=1000001, window=64240, ttl=63, counter=1,
        ack=True, acked=True, syn=False, rst=False, fin=False, push=True,
        handshake_num=1, fingerprint="http", timestamp_ns=1_700_000_000_123_456_789,
        expected_r_to_lzr="data", data=b"HTTP/1.1 200 OK\r\n", acking_firewall=True,
    )
    return dataclasses.replace(base, **changes)


def test_record_with_every_field_exact_bytes():
    assert encode_record(make_record()) == (
        b'{"saddr":"192.0.2.10","daddr":"198.51.100.2","sport":8080,"dport":40001,'
        b'"seqnum":3405691582,"acknum":1000001,"window":64240,"ttl":63,"Counter":1,'
        b'"ACK":true,"ACKed":true,"SYN":false,"RST":false,"FIN":false,"PUSH":true,'
        b'"HandshakeNum":1,"fingerprint":"http","Timestamp":"2023-11-14T22:13:20.123456789Z",'
        b'"expectedRToLZR":"data","data":"HTTP/1.1 200 OK\\r\\n","ackingFirewall":true}\n'
    )


def test_keys_follow_the_field_table_order():
    keys = list(json.loads(encode_record(make_record())))
    assert keys == [json_name for _, json_name, _ in FIELDS]


@pytest.mark.parametrize("attribute, json_name", [
    (attribute, json_name) for attribute, json_name, omitted in FIELDS if omitted
])
def test_falsy_optional_fields_are_omitted(attribute, json_name):
    empty = {"fingerprint": "", "expected_r_to_lzr": "", "data": b"", "acking_firewall": False}
    assert json_name not in json.loads(encode_record(make_record(**{attribute: empty[attribute]})))
    assert json_name in json.loads(encode_record(make_record()))


def test_false_and_zero_mandatory_fields_are_written():
    record = make_record(window=0, counter=0, ack=False, acked=False, push=False, ttl=0,
                         handshake_num=0)
    decoded = json.loads(encode_record(record))
    assert decoded["window"] == 0 and decoded["ttl"] == 0 and decoded["ACK"] is False
    assert decoded["Counter"] == 0 and decoded["HandshakeNum"] == 0 and decoded["PUSH"] is False


def test_zero_window_zmap_record_like_lzr():
    # A ZMap zero-window SYN-ACK record: no timestamp, no state, no data.
    record = make_record(window=0, syn=True, push=False, counter=0, acked=False,
                         handshake_num=0, fingerprint="unknown", timestamp_ns=None,
                         expected_r_to_lzr="", data=b"", acking_firewall=False, ttl=0)
    assert encode_record(record) == (
        b'{"saddr":"192.0.2.10","daddr":"198.51.100.2","sport":8080,"dport":40001,'
        b'"seqnum":3405691582,"acknum":1000001,"window":0,"ttl":0,"Counter":0,'
        b'"ACK":true,"ACKed":false,"SYN":true,"RST":false,"FIN":false,"PUSH":false,'
        b'"HandshakeNum":0,"fingerprint":"unknown","Timestamp":"0001-01-01T00:00:00Z"}\n'
    )


def test_timestamp_zone_is_the_encoders():
    line = encode_record(make_record(), utc_offset_seconds=3 * 3600 + 1800)
    assert b'"Timestamp":"2023-11-15T01:43:20.123456789+03:30"' in line
    line = encode_record(make_record(), utc_offset_seconds=-5 * 3600)
    assert b'"Timestamp":"2023-11-14T17:13:20.123456789-05:00"' in line


def test_extended_fields_follow_lzr_fields():
    record = make_record(handshake="http", handshakes_tried=2, identify_seconds=0.25,
                         outcome=Outcome.ACKING_FIREWALL)
    line = encode_record(record, extended=True)
    assert line.endswith(b'"ackingFirewall":true,"handshake":"http","handshakesTried":2,'
                         b'"identifySeconds":0.25,"outcome":"acking-firewall",'
                         b'"dataBase64":"SFRUUC8xLjEgMjAwIE9LDQo="}\n')
    assert list(json.loads(line)) == [name for _, name, _ in FIELDS + EXTENDED_FIELDS]
    assert b"handshake" not in encode_record(record).replace(b"HandshakeNum", b"")
    assert b"outcome" not in encode_record(record)


def test_a_record_without_an_outcome_has_no_outcome_field():
    assert b"outcome" not in encode_record(make_record(), extended=True)


@pytest.mark.parametrize("seconds, text", [
    (0.25, "0.25"), (3.0, "3"), (0.0, "0"), (12.5, "12.5"), (1e-05, "0.00001"),
    (1e-07, "1e-7"), (2.5e-9, "2.5e-9"), (1e16, "10000000000000000"), (1e21, "1e+21"),
])
def test_identify_seconds_number_like_go(seconds, text):
    line = encode_record(make_record(identify_seconds=seconds), extended=True)
    assert f'"identifySeconds":{text},"dataBase64":'.encode() in line
    assert json.loads(line)["identifySeconds"] == seconds


def test_data_base64_is_the_exact_payload_and_only_with_data():
    payload = bytes(range(256))       # no UTF-8 reading keeps these
    line = encode_record(make_record(data=payload), extended=True)
    assert base64.b64decode(json.loads(line)["dataBase64"], validate=True) == payload
    assert b"dataBase64" not in encode_record(make_record(data=b""), extended=True)
    assert b"dataBase64" not in encode_record(make_record(data=payload))


def test_identify_seconds_none_is_omitted():
    line = encode_record(make_record(identify_seconds=None), extended=True)
    assert b"identifySeconds" not in line and b'"handshakesTried":0' in line


def test_non_finite_number_is_refused():
    with pytest.raises(EncodeError):
        encode_record(make_record(identify_seconds=float("nan")), extended=True)


def test_json_loads_round_trips_ascii_records():
    record = make_record(data=b'GET / "x" <y> & \\z\r\n\t\x01\x7f', saddr="2001:db8::1")
    decoded = json.loads(encode_record(record))
    for attribute, json_name, _ in FIELDS:
        value = getattr(record, attribute)
        if attribute == "data":
            value = value.decode("ascii")
        if attribute == "timestamp_ns":
            continue
        assert decoded[json_name] == value, json_name


def test_encoder_object_and_function_agree():
    record = make_record(data="naïve <ü>".encode() + b"\xff")
    assert RecordEncoder(utc_offset_seconds=60).encode(record) == \
        encode_record(record, utc_offset_seconds=60)
