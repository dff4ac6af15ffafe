"""Text from outside (request paths, file names) made safe for one log line."""

from __future__ import annotations

import unicodedata

# Characters that reorder a printed line (bidirectional embeddings, overrides and isolates).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def log_safe(text: str) -> str:
    """``text`` with every character that could end a log line, fake another or reorder it (CR, LF, the other
    controls, U+0085, U+2028, U+2029, bidirectional controls) and every undecodable byte of a file name (a
    lone surrogate, which would not even encode) escaped as \\xNN or \\uNNNN; backslashes are doubled so an
    escape cannot be forged either."""
    return "".join(_escape(character) for character in text)


def _escape(character: str) -> str:
    if character == "\\":
        return "\\\\"
    if unicodedata.category(character) in ("Cc", "Zl", "Zp", "Cs") or character in BIDI_CONTROLS:
        code = ord(character)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return character
