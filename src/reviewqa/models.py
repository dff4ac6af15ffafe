"""The data model shared by every stage: documents, their passages and sentences, and answers.

Stages exchange these dataclasses; JSON (``to_dict``/``from_dict``) is the on-disk and on-the-wire form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

DocumentKind = Literal["review", "source"]
PassageKind = Literal["text", "caption"]
SECTION_SEPARATOR = " > "


@dataclass
class Document:
    """One document of the corpus after reading and cleaning."""

    doc_id: str  # file stem, e.g. "igf1r-review"
    path: str  # relative to the corpus directory
    text: str  # the cleaned text; every offset in passages and sentences points into it
    title: str = ""
    authors: str = ""
    year: int | None = None
    kind: DocumentKind = "review"
    key: str | None = None  # bibliography key of the cited work this document is (sources only)
    # (page number, start, end) character ranges of ``text``; empty for plain text
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    # Read from the document itself (PDF metadata, first page, a plain-text header); empty when unknown
    doi: str = ""
    journal: str = ""
    licence: str = ""
    url: str = ""

    def page_at(self, offset: int) -> int | None:
        for number, start, end in self.pages:
            if start <= offset < end:
                return number
        return None


@dataclass
class Sentence:
    start: int  # offsets into Document.text
    end: int
    text: str
    cited_works: list[str] = field(default_factory=list)  # keys this sentence cites itself
    paragraph: int = 0  # index of the paragraph within the document, for attribution across sentences

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sentence:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclass
class Passage:
    """A window of whole sentences within one section of one document."""

    passage_id: str  # "<doc_id>:<ordinal>", stable for an unchanged document and chunk settings
    document: str  # Document.doc_id
    section: list[str]  # heading path, outermost first
    page: int | None  # first page of the passage (PDFs); None for plain text
    start: int
    end: int
    text: str
    sentences: list[Sentence]
    cited_works: list[str]  # union of the sentences' keys, in order of first appearance
    # Bibliography key of the cited work whose source document this passage is from; None in the review.
    work_key: str | None = None
    kind: PassageKind = "text"  # "caption": a figure or table caption (PDFs), kept apart from the text

    @property
    def section_label(self) -> str:
        return SECTION_SEPARATOR.join(self.section)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(
            passage_id=data["passage_id"],
            document=data["document"],
            section=list(data["section"]),
            page=data.get("page"),
            start=data["start"],
            end=data["end"],
            text=data["text"],
            sentences=[Sentence.from_dict(s) for s in data["sentences"]],
            cited_works=list(data["cited_works"]),
            work_key=data.get("work_key"),  # absent from passages written before it existed
            kind=data.get("kind", "text"),
        )


@dataclass
class CitedWork:
    """A bibliography row: a work the review cites (or a trial registry id)."""

    key: str  # normalised, e.g. "Gradishar et al. 2016", "NCT03099174"
    authors: str = ""
    year: int | None = None
    title: str = ""
    journal: str = ""
    doi: str = ""
    pmid: str = ""
    url: str = ""


@dataclass
class SourceSupport:
    """The best-matching passage of an indexed source paper for a claim the review attributes to it."""

    passage_id: str
    quote: str
    score: float


@dataclass
class CitedWorkRef:
    """A cited work as it appears inside an answer's citation."""

    key: str
    doi: str | None = None
    pmid: str | None = None
    title: str | None = None
    url: str | None = None
    support: SourceSupport | None = None
    # Whether a source document of this work is indexed: tells "no close sentence" from "not indexed".
    source_indexed: bool = False


@dataclass
class Citation:
    marker: int
    passage_id: str
    document: str
    title: str
    section: str
    page: int | None
    quote: str  # exact substring of the passage text
    cited_works: list[CitedWorkRef] = field(default_factory=list)
    document_kind: DocumentKind = "review"
    work_key: str | None = None  # the work a cited source passage belongs to (Passage.work_key)


@dataclass
class RetrievedPassage:
    passage_id: str
    document: str
    section: str
    page: int | None
    text: str
    score: float
    cited_works: list[str] = field(default_factory=list)
    work_key: str | None = None  # as on Passage


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    passages: list[RetrievedPassage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # What kind of answer the question asks for: yes_no, list, why, definition or factoid.
    question_type: str | None = None
    verdict: str | None = None  # "Yes" or "No", for a yes/no question that was answered
    # How well the evidence covers the question (0-1): below ``abstain_threshold`` the answer abstains.
    # ``confidence`` is the calibrated probability that the answer is right.
    support: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The Answer of ``to_dict`` (e.g. from the API); keys this version does not know are ignored."""
        values = _known_fields(cls, data)
        values["citations"] = [
            Citation(
                **{
                    **_known_fields(Citation, citation),
                    "cited_works": [_cited_work_ref(work) for work in citation.get("cited_works", [])],
                }
            )
            for citation in data.get("citations", [])
        ]
        values["passages"] = [
            RetrievedPassage(**_known_fields(RetrievedPassage, p)) for p in data.get("passages", [])
        ]
        return cls(**values)


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _cited_work_ref(data: dict[str, Any]) -> CitedWorkRef:
    support = data.get("support")
    return CitedWorkRef(
        **{
            **_known_fields(CitedWorkRef, data),
            "support": SourceSupport(**_known_fields(SourceSupport, support)) if support else None,
        }
    )
