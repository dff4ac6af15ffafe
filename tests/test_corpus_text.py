"""Corpus text rules: sentence splitting, citation keys, hyphenation, headings and paragraphs, offsets."""

from __future__ import annotations

import itertools
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewqa.corpus import clean_pages, clean_text, find_citations, split_sentences
from reviewqa.corpus.chunking import build_passages, document_sentences, windows
from reviewqa.corpus.hyphenation import Vocabulary, keeps_hyphen
from reviewqa.models import Document


def sentences_of(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


# --- sentence splitting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mortality fell (Berry et al. 2005). These results underlie it.",
            ["Mortality fell (Berry et al. 2005).", "These results underlie it."],
        ),
        (
            "Drugs were reviewed (Yee et al. 2012) in trials.",
            ["Drugs were reviewed (Yee et al. 2012) in trials."],
        ),
        (
            "Some agents, e.g. Ganitumab and others, failed. Others did not.",
            ["Some agents, e.g. Ganitumab and others, failed.", "Others did not."],
        ),
        (
            "As shown in Fig. 2 the effect held. It was large.",
            ["As shown in Fig. 2 the effect held.", "It was large."],
        ),
        (
            "A1C less than 5.7% suggested benefit (hazard ratio = 0.60, CI: 0.32–1.1). "
            "Unfortunately, it stopped.",
            [
                "A1C less than 5.7% suggested benefit (hazard ratio = 0.60, CI: 0.32–1.1).",
                "Unfortunately, it stopped.",
            ],
        ),
        (
            "Patients were given metformin (850 mg po BID) to manage glucose. Therapy was 12 weeks.",
            ["Patients were given metformin (850 mg po BID) to manage glucose.", "Therapy was 12 weeks."],
        ),
        (
            "It is in trial in endocrine-resistant breast cancer (NCT03099174). It is well established.",
            ["It is in trial in endocrine-resistant breast cancer (NCT03099174).", "It is well established."],
        ),
        (
            "Tumor size (>2.5 cm). If ER+, then they also qualify.",
            ["Tumor size (>2.5 cm).", "If ER+, then they also qualify."],
        ),
        (
            "It was lower than the adult isoform, INSR-B. This is a significant finding.",
            ["It was lower than the adult isoform, INSR-B.", "This is a significant finding."],
        ),
        ("Work by D. Yee showed it. So did others.", ["Work by D. Yee showed it.", "So did others."]),
        (
            "It is also evident. mRNA profiling could be used.",
            ["It is also evident.", "mRNA profiling could be used."],
        ),
        (
            "It was shown by Chan et al. These authors agreed.",
            ["It was shown by Chan et al.", "These authors agreed."],
        ),
        ("Is this a question? Yes! It is.", ["Is this a question?", "Yes!", "It is."]),
        (
            "First paragraph ends here\n\nSecond one starts here.",
            ["First paragraph ends here", "Second one starts here."],
        ),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert sentences_of(text) == expected


def test_split_sentences_offsets_are_trimmed_and_exact() -> None:
    text = "  One sentence here.   Two sentences here.  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["One sentence here.", "Two sentences here."]
    assert spans[0][0] == 2


# --- citations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("reviews of this receptor (Pollak 2008, 2012).", ["Pollak 2008", "Pollak 2012"]),
        ("in vitro (Chan et al. 2016, 2017).", ["Chan et al. 2016", "Chan et al. 2017"]),
        ("suggested by Gradishar and coworkers (2016) when", ["Gradishar et al. 2016"]),
        (
            "As shown by Gradishar and coworkers, the tumors did poorly (Gradishar et al. 2016).",
            ["Gradishar et al. 2016"],
        ),
        (
            "death (Mandelblatt et al. 2009, Biller-Andorno & Juni 2014).",
            ["Mandelblatt et al. 2009", "Biller-Andorno & Juni 2014"],
        ),
        ("breast cancer (Beatson 1896).", ["Beatson 1896"]),
        ("breast cancer (Yee et  al. \n2012).", ["Yee et al. 2012"]),
        ("breast cancer (Pegram et\u00a0 al. 1998).", ["Pegram et al. 1998"]),
        ("by cisplatin (O’Flanagan et  al. 2016).", ["O’Flanagan et al. 2016"]),
        ("by cisplatin (O'Flanagan et al. 2016).", ["O’Flanagan et al. 2016"]),
        ("demonstrated (de Lint et al. 2016).", ["de Lint et al. 2016"]),
        (
            "removed (Pearson & \nRay 1960, Fracchia et al. 1971).",
            ["Pearson & Ray 1960", "Fracchia et al. 1971"],
        ),
        ("letrozole (NCT01225172). Also NCT03099174 is ongoing.", ["NCT01225172", "NCT03099174"]),
        ("In 1890, Beatson removed young woman’s ovaries.", []),
        ("a ratio (hazard ratio = 0.60, CI: 0.32–1.1) and (850 mg po BID) and (>2.5 cm)", []),
        ("As reported by Pollak (2008), it works.", ["Pollak 2008"]),
        (
            "Smith and Jones (2010) and (see Brown 2011a; Green & White 2012)",
            ["Smith & Jones 2010", "Brown 2011a", "Green & White 2012"],
        ),
        ("growth (Chan et al. 1998). Then (Chan et al. 1998) again", ["Chan et al. 1998"]),
        ("in 2016 (IGF1R) during Phase 2 (ER 2012)", []),
        ("(Smith et al., 2010; Jones, 2011, 2012)", ["Smith et al. 2010", "Jones 2011", "Jones 2012"]),
        ("(Ganitumab, IGF1R, 2012)", []),
        # Three or more authors are the first author et al., with or without the serial comma.
        ("(Smith, Jones & Brown 2010)", ["Smith et al. 2010"]),
        ("(Smith, Jones, and Brown, 2010; Lee 2011)", ["Smith et al. 2010", "Lee 2011"]),
        ("(Smith, Jones, Brown & Lee 2010, 2012)", ["Smith et al. 2010", "Smith et al. 2012"]),
        ("(Smith & Jones, 2010)", ["Smith & Jones 2010"]),
        ("(Adjuvant, Smith & Jones 2010)", ["Smith & Jones 2010"]),
        ("(Smith 2009, and Jones 2011)", ["Smith 2009", "Jones 2011"]),
        ("(St. John et al. 2010)", ["St. John et al. 2010"]),
        ("as St John and colleagues (2010) showed", ["St John et al. 2010"]),
        ("(Smith et al. 2010a, b)", ["Smith et al. 2010a", "Smith et al. 2010b"]),
        ("(Lee 2011a,b,c; Kim 2012, b)", ["Lee 2011a", "Lee 2011b", "Lee 2011c", "Kim 2012"]),
        ("Smith et al. (2010a, b) found", ["Smith et al. 2010a", "Smith et al. 2010b"]),
        ("Yee et al. 2012, a study", ["Yee et al. 2012"]),
        ("(Cohort 2010) (Adjuvant 2010) (Table 2010) (Trial 2010; Guidelines, 2011)", []),
        ("(Smith & Cohort 2010) and (INSR & Jones 2010)", []),
    ],
)
def test_find_citations(text: str, keys: list[str]) -> None:
    assert find_citations(text) == keys


# --- hyphenation and cleaning --------------------------------------------------------------------------


def test_hyphen_decisions_use_the_documents_own_vocabulary() -> None:
    vocabulary = Vocabulary.from_lines(
        ["the customer had no progression and was free of an insulin-like signal", "enhanced treatment"]
    )
    assert keeps_hyphen("progression", "free", vocabulary)
    assert keeps_hyphen("insulin", "like", vocabulary)
    assert keeps_hyphen("micro", "metastatic", Vocabulary.from_lines(["metastatic spread"]))
    assert keeps_hyphen("BMS", "754807", vocabulary)
    assert keeps_hyphen("anti", "HER2", vocabulary)
    assert not keeps_hyphen("cus", "tomer", vocabulary)
    assert not keeps_hyphen("treat", "ment", vocabulary)
    assert not keeps_hyphen("cus", "tomer", Vocabulary())


def test_clean_text_rejoins_lines_words_and_spaces() -> None:
    raw = (
        " Results\n\n"
        "The cus-\ntomer had  endocrine-resistant disease, and after endocrine-\n"
        "resistant relapse a treat-\nment (Yee et\u00a0 al. 2012) was given.\n\n"
        "Discussion\n\nIt ended. \n"
    )
    cleaned = clean_text(raw)
    assert cleaned.text == (
        "Results\n\nThe customer had endocrine-resistant disease, and after endocrine-resistant relapse a "
        "treatment (Yee et al. 2012) was given.\n\nDiscussion\n\nIt ended."
    )
    assert [h.path for h in cleaned.headings] == [("Results",), ("Discussion",)]
    assert cleaned.pages == []


def test_blank_line_inside_a_paragraph_is_not_a_break() -> None:
    raw = "Intro\n\nIt is clear. Further, \n\neven for women it holds.\n\nA new paragraph starts here.\n"
    cleaned = clean_text(raw)
    paragraphs = [cleaned.text[p.start : p.end] for p in cleaned.paragraphs]
    assert paragraphs == ["It is clear. Further, even for women it holds.", "A new paragraph starts here."]
    assert [p.index for p in cleaned.paragraphs] == [0, 1]


def test_trailing_spaces_tell_page_breaks_from_paragraph_breaks_when_the_text_uses_them() -> None:
    wrapped = "".join(f"Line {n} of running text goes on \n" for n in range(12))
    raw = f"Intro\n\n{wrapped}and a sentence ends here. \n\nThe paragraph goes on.\n\nA new one.\n"
    paragraphs = [p.index for p in clean_text(raw).paragraphs]
    assert len(paragraphs) == 2
    # Without the convention (lines not ending in spaces) the same blank line is a paragraph break.
    assert len(clean_text(raw.replace(" \n", "\n")).paragraphs) == 3


def test_headings_wrap_and_nest_without_outline() -> None:
    raw = (
        "Early trials\n\nKinase inhibitors in \nbreast cancer\n\nThe inhibitor was tested.\n\n"
        "Randomized trials of IGF1R inhibitors in ER+ \nbreast cancer\n\nMany trials were run.\n"
    )
    cleaned = clean_text(raw)
    assert [h.path for h in cleaned.headings] == [
        ("Early trials",),
        ("Early trials", "Kinase inhibitors in breast cancer"),
        ("Randomized trials of IGF1R inhibitors in ER+ breast cancer",),
    ]
    assert [p.section[-1] for p in cleaned.paragraphs] == [
        "Kinase inhibitors in breast cancer",
        "Randomized trials of IGF1R inhibitors in ER+ breast cancer",
    ]


def test_outline_sets_hierarchy_and_names_headings() -> None:
    raw = "Strategies\n\nIt starts.\n\nLigand suppression\n\nIt goes on.\n\nSummary\n\nIt ends.\n"
    outline = [("Strategies",), ("Strategies", "Ligand suppression"), ("Summary",)]
    cleaned = clean_text(raw, outline=outline)
    assert [h.path for h in cleaned.headings] == outline
    assert [p.section for p in cleaned.paragraphs] == outline


def test_outline_mismatches_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    raw = "Methods\n\nIt starts.\n\nExtra heading\n\nIt goes on.\n"
    with caplog.at_level(logging.WARNING, logger="reviewqa.corpus"):
        cleaned = clean_text(raw, outline=[("Methods",), ("Methods", "Patients")])
    assert [h.path for h in cleaned.headings] == [("Methods",), ("Extra heading",)]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "'Extra heading' is not in the document's outline" in messages
    assert "'Patients' was not found" in messages


def test_heading_needs_a_finished_sentence_before_and_a_capital_after() -> None:
    raw = (
        "Intro\n\nThis sentence goes on \n\nwith a continuation.\n\n"
        "Short line here\n\nfollowed by lower case.\n"
    )
    cleaned = clean_text(raw)
    assert [h.text for h in cleaned.headings] == ["Intro"]
    assert "This sentence goes on with a continuation." in cleaned.text


def test_pages_map_offsets_to_page_numbers() -> None:
    cleaned = clean_pages(["Title\n\nThe first page ends with a split progres-", "sion of words.\n2"])
    assert "progression of words." in cleaned.text
    assert cleaned.text.endswith("words.")  # the page number is dropped
    first_page_end = cleaned.pages[0][2]
    assert cleaned.pages[0][0] == 1 and cleaned.pages[1][0] == 2
    assert cleaned.text[first_page_end:].startswith("sion")


# --- offsets round-trip on generated documents -----------------------------------------------------------

WORDS = st.sampled_from(
    ["cancer", "IGF1R", "insulin-like", "receptor", "et al.", "e.g.", "5.7%", "0.60", "(NCT03099174)", "the",
     "treat-", "ment", "Fig.", "2", "(Pollak 2008, 2012)", "O’Flanagan", "growth", "a", "po", "BID", "free"]
)  # fmt: skip
SPACE = st.sampled_from([" ", " ", " ", "  ", "\u00a0", " \n", "\n", "\n\n", " \n \n"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["Introduction", "Ligand suppression", "Is there a future?"])))
            parts.append("\n\n")
        for _ in range(draw(st.integers(1, 5))):
            words = draw(st.lists(WORDS, min_size=1, max_size=12))
            sentence = draw(st.sampled_from(["The", "It", "Thus,", "mRNA"])) + " "
            sentence += "".join(word + draw(SPACE) for word in words)
            parts.append(sentence.rstrip() + draw(st.sampled_from([".", "?", ". ", ".\n", ""])) + draw(SPACE))
        parts.append("\n\n")
    return "".join(parts)


def _letters(text: str) -> str:
    return re.sub(r"[\s\-\u00ad]", "", text)


@settings(max_examples=150, deadline=None)
@given(raw=documents(), chunk_tokens=st.integers(5, 60), overlap=st.integers(0, 2))
def test_offsets_round_trip_on_generated_documents(raw: str, chunk_tokens: int, overlap: int) -> None:
    cleaned = clean_text(raw)
    assert _letters(cleaned.text) == _letters(raw)  # nothing lost or invented but spaces and hyphens
    document = Document(doc_id="generated", path="generated.txt", text=cleaned.text)
    sentences = document_sentences(cleaned)
    passages = build_passages(document, sentences, lambda text: len(text.split()), chunk_tokens, overlap)
    for _, sentence in sentences:
        assert cleaned.text[sentence.start : sentence.end] == sentence.text
    for passage in passages:
        assert cleaned.text[passage.start : passage.end] == passage.text
        for sentence in passage.sentences:
            assert cleaned.text[sentence.start : sentence.end] == sentence.text
    covered = {(s.start, s.end) for p in passages for s in p.sentences}
    assert covered == {(s.start, s.end) for _, s in sentences}


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=30),
    limit=st.integers(1, 80),
    overlap=st.integers(0, 3),
)
def test_windows_cover_everything_and_always_advance(sizes: list[int], limit: int, overlap: int) -> None:
    spans = list(windows(sizes, limit, overlap))
    assert spans[0][0] == 0 and spans[-1][1] == len(sizes)
    for (_, last), (next_first, next_last) in itertools.pairwise(spans):
        assert next_last > last  # every window brings a new item
        assert last - overlap <= next_first <= last  # no gaps, overlap at most as asked
    for first, last in spans:
        assert last - first == 1 or sum(sizes[first:last]) <= limit


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(documents(), min_size=1, max_size=4))
def test_page_ranges_cover_the_cleaned_text(pages: list[str]) -> None:
    cleaned = clean_pages(pages)
    if not cleaned.text:
        return
    ranges = cleaned.pages
    assert ranges[0][1] == 0 and ranges[-1][2] == len(cleaned.text)
    for (page, _, end), (next_page, next_start, _) in itertools.pairwise(ranges):
        assert end == next_start and next_page > page
    document = Document(doc_id="paged", path="paged.pdf", text=cleaned.text, pages=ranges)
    for _, sentence in document_sentences(cleaned):
        assert 1 <= (document.page_at(sentence.start) or 0) <= len(pages)
