"""Plain text from Europe PMC markup: JATS full-text XML and the HTML-ish abstracts of search records."""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET

logger = logging.getLogger(__name__)

_BLOCK_TAG_RE = re.compile(r"<\s*/?\s*(?:h\d|p|br|div|li)\b[^>]*>", re.IGNORECASE)
_ANY_TAG_RE = re.compile(r"<[^>]+>")
# Elements whose text is not running prose: tables, formulae, figure graphics, cross-reference lists.
_SKIPPED = {
    "table-wrap",
    "table",
    "disp-formula",
    "graphic",
    "ref-list",
    "fn-group",
    "supplementary-material",
}


def strip_markup(text: str) -> str:
    """Paragraphs of plain text (blank-line separated) from a string with inline HTML tags."""
    text = _BLOCK_TAG_RE.sub("\n\n", text)
    text = html.unescape(_ANY_TAG_RE.sub("", text))
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def jats_to_text(xml_bytes: bytes) -> str:
    """The article body as headings and paragraphs; empty when the XML has no readable body."""
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as exc:
        logger.warning("full text XML could not be parsed (%s); keeping the abstract only", exc)
        return ""
    body = next((el for el in root.iter() if _local(el.tag) == "body"), None)
    if body is None:
        return ""
    blocks: list[str] = []
    _collect(body, blocks)
    return "\n\n".join(blocks)


def _collect(element: ET.Element, blocks: list[str]) -> None:
    for child in element:
        name = _local(child.tag)
        if name in _SKIPPED:
            continue
        if name == "title" or name == "p" or name == "caption":
            _append(blocks, _text(child))
        else:
            _collect(child, blocks)


def _append(blocks: list[str], text: str) -> None:
    if text:
        blocks.append(text)


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
