"""What may enter the corpus: files inside the documents folder, with printable names, holding text.

A symlink to ``/etc/passwd`` would otherwise be indexed and served over HTTP; random bytes without a NUL
would be indexed as cp1252 garbage; a name with a newline would give passage ids the API cannot serve.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from reviewqa.logsafe import BIDI_CONTROLS

# Bytes looked at to decide whether a file is text: enough for a stable share, cheap for large files.
BINARY_PROBE_BYTES = 64 * 1024
# Above this share of control or undecodable characters a file is binary. Random bytes give about 13%
# (33 of 256 byte values are C0 controls, DEL or undefined in cp1252); real text in UTF-8 or Latin-1 gives
# well under 1%, so a few stray form feeds or bad bytes in a long text do not count against it.
BINARY_SHARE = 0.05
# Whitespace controls that plain text uses.
TEXT_CONTROLS = frozenset("\t\n\r\f\v")
# Characters that reorder or break a line when a name is printed, besides the C0/C1 controls.
DECEPTIVE = BIDI_CONTROLS | {"\u2028", "\u2029"}


def outside_reason(path: Path, documents_dir: Path) -> str:
    """Why the symlink ``path`` may not be read (it resolves outside ``documents_dir``); "" if it may."""
    target = path.resolve()
    if target.is_relative_to(documents_dir.resolve()):
        return ""
    return f"it is a symlink to {target}, outside {documents_dir}; only files inside it are read"


def name_reason(relative: str) -> str:
    """Why a file name is refused (a control character, or bytes that are not UTF-8); "" if it is fine."""
    for character in relative:
        if 0xDC80 <= ord(character) <= 0xDCFF:  # os.fsdecode's stand-in for a byte that is not UTF-8
            return "its name is not valid UTF-8; rename the file"
        if unicodedata.category(character) == "Cc" or character in DECEPTIVE:
            return f"its name contains the control character U+{ord(character):04X}; rename the file"
    return ""


def binary_reason(data: bytes) -> str:
    """Why ``data`` is not text (a NUL, or too many control or undecodable characters); "" if it is text.

    The text is decoded as the text reader will decode it: UTF-8, else cp1252."""
    probe = data[:BINARY_PROBE_BYTES]
    if b"\x00" in probe:
        return "it looks like a binary file (it contains NUL bytes), not text"
    text = _decode_as_reader(probe, truncated=len(data) > len(probe))
    if not text:
        return ""
    odd = sum(map(_is_odd, text))
    share = odd / len(text)
    if share > BINARY_SHARE:
        return f"it looks like a binary file ({share:.0%} control or undecodable characters), not text"
    return ""


def _decode_as_reader(probe: bytes, *, truncated: bool) -> str:
    try:
        return probe.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(probe) - 3:  # a character cut by the probe's end, not bad UTF-8
            return probe[: exc.start].decode("utf-8-sig")
    return probe.decode("cp1252", errors="replace")


def _is_odd(character: str) -> bool:
    """A character text does not hold: a control other than whitespace, or a byte that did not decode."""
    return character == "\ufffd" or (
        unicodedata.category(character) == "Cc" and character not in TEXT_CONTROLS
    )
