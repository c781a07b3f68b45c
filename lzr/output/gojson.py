"""JSON string encoding exactly as Go's encoding/json writes it (docs/lzr-reference.md §4.2).

LZR's `data` field is a Go string holding raw payload bytes, so the bytes a consumer sees are
decided by Go's rules, which differ from Python's `json.dumps`:

* valid UTF-8 is written raw (not as \\u escapes);
* every byte that does not start a valid UTF-8 sequence becomes the six characters \\ufffd,
  one per bad byte (Go's utf8.DecodeRune consumes a single byte on error), whereas Python's
  "replace" handler merges a truncated multibyte prefix into one U+FFFD;
* a genuine, validly encoded U+FFFD in the input stays raw;
* `"` and `\\` get a backslash; \\b \\f \\n \\r \\t short forms; other bytes below 0x20 as \\u00xx
  in lowercase hex; `<` `>` `&` and U+2028/U+2029 as \\u escapes; 0x7F unescaped.

Python's strict UTF-8 decoder accepts exactly the sequences Go's DecodeRune accepts (both refuse
overlong forms, surrogates and code points above U+10FFFF), so the work is delegated to it with an
error handler that gives up one byte at a time.
"""
import codecs
import re

# Stands for "one invalid byte" between decoding and escaping. A lone surrogate cannot come out
# of a strict UTF-8 decode, so it never collides with real text.
_BAD_BYTE = "\ud800"


def _one_bad_byte(error: UnicodeDecodeError) -> tuple[str, int]:
    return _BAD_BYTE, error.start + 1


_ERROR_HANDLER = "lzr-go-one-per-byte"
codecs.register_error(_ERROR_HANDLER, _one_bad_byte)

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    _BAD_BYTE: "\\ufffd",
}
for _code in range(0x20):
    _ESCAPES.setdefault(chr(_code), f"\\u{_code:04x}")

_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")
# Bytes that are written as they are: printable ASCII except the escaped five, plus 0x7F.
_NEEDS_WORK_BYTES = re.compile(rb'[^\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7f]')
# Control bytes other than \t \n \r: rare in text protocols, left to the general path.
_RARE_CONTROL_BYTES = re.compile(rb'[\x00-\x08\x0b-\x0c\x0e-\x1f]')


def _escape_match(match: re.Match) -> str:
    return _ESCAPES[match.group()]


def _escape_text_protocol_ascii(raw: bytes) -> bytes:
    """Escapes ASCII holding no control bytes but tab, LF and CR (banners, HTTP, HTML).

    Chained C-level replaces are several times faster than a regex substitution with a
    callback; the backslash goes first so that later escapes are not escaped again.
    """
    return (raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            .replace(b"\n", b"\\n").replace(b"\r", b"\\r").replace(b"\t", b"\\t")
            .replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026"))


def quote_text(text: str) -> str:
    """A Python string as a Go JSON string literal (with the quotes)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    return '"' + _NEEDS_ESCAPE.sub(_escape_match, text) + '"'


def quote_bytes(raw: bytes) -> str:
    """Raw bytes, read as a Go string, as a Go JSON string literal (with the quotes).

    The result is text; encoding it as UTF-8 gives the exact bytes Go writes.
    """
    if _NEEDS_WORK_BYTES.search(raw) is None:
        return f'"{raw.decode("ascii")}"'
    if raw.isascii() and _RARE_CONTROL_BYTES.search(raw) is None:
        return '"' + _escape_text_protocol_ascii(raw).decode("ascii") + '"'
    text = raw.decode("utf-8", _ERROR_HANDLER)
    return '"' + _NEEDS_ESCAPE.sub(_escape_match, text) + '"'
