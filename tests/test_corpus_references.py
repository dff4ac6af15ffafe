"""Reference lists without a heading, and entries in run-together and BioMed Central styles."""

from __future__ import annotations

from reviewqa.corpus.cleaning import clean_pages, clean_text
from reviewqa.corpus.references import parse_reference_lists

BODY = (
    "Results\n\nThe protein was found at 3 fmol per eye [1]. Its partner was less abundant [2,3].\n"
    "Both were measured twice [4-6].\n\n"
)
# Wiley prints the list after "Keywords" and "Received" matter, without a heading; pypdf runs words together.
UNHEADED_LIST = (
    "Keywords\n\nabsolute quantification, Drosophila eye\nReceived: January 24, 2020\n"
    "[1] E. Ahrné, L. Molzahn, T. Glatter, A. Schmidt, Proteomics 2013, 13,\n2567.\n"
    "[2] H.Taymaz-Nikerel,A.R.Lara, Front. Bioeng. Biotechnol.2016,4.\n"
    "[3] M.Brönstrup, Expert Rev. Proteomics2004,1,503.\n"
    "[4] K.A.Neilson,N.A.Ali,S.C.vanSluyter,P.A.Haynes, Proteomics2011,\n11,535.\n"
    "[5] H.S.Li,J.A.Porter,C.Montell,J. Neurosci.1998,18,9601.\n"
    "[6] C.Montell,Annu. Rev. Cell Dev. Biol.1999,15,231.\n"
)
# Numbered lists of the body: protocol steps (no names, no years) and findings that go on as prose.
STEPS = (
    "Methods\n\nThe eyes were prepared as follows.\n"
    "1. Dissect 40 eyes in cold PBS.\n2. Lyse them in 50 mM Tris-HCl, pH 7.5.\n"
    "3. Spin for 15 min at 13 000 rpm.\n4. Load the supernatant on a 4-20% gel.\n"
    "5. Cut the gel into six slices.\n6. Digest each slice with trypsin overnight.\n"
)


def test_a_list_without_heading_is_found_by_its_numbering_and_parsed() -> None:
    cleaned = clean_text(BODY + UNHEADED_LIST)
    assert "Taymaz" not in cleaned.text and "Montell" not in cleaned.text
    assert "absolute quantification" in cleaned.text  # the keywords before the list stay text
    references = parse_reference_lists(cleaned.reference_lists)
    assert references.numbered and references.printed == 6
    assert [(e.number, e.key, e.year) for e in references.entries] == [
        (1, "Ahrné et al. 2013", 2013),
        (2, "Taymaz-Nikerel & Lara 2016", 2016),
        (3, "Brönstrup 2004", 2004),
        (4, "Neilson et al. 2011", 2011),
        (5, "Li et al. 1998", 1998),
        (6, "Montell 1999", 1999),
    ]
    # the style prints no titles: the journal is not taken for one
    assert [e.title for e in references.entries] == [""] * 6
    assert references.entries[1].authors == "H. Taymaz-Nikerel, A.R. Lara"


def test_numbered_steps_in_the_body_are_no_reference_list() -> None:
    for text in (BODY + STEPS, STEPS + "\nDiscussion\n\nThe method worked well.\n"):
        cleaned = clean_text(text)
        assert cleaned.reference_lists == []
        assert "Cut the gel into six slices" in cleaned.text


def test_numbered_findings_with_years_that_go_on_as_prose_are_kept() -> None:
    findings = "".join(
        f"{n}. In {2000 + n}, Smith J. et al. reported case {n} in the ward of the hospital.\n"
        for n in range(1, 7)
    )
    prose = "".join(
        f"This paragraph goes on about the cases, line {n} of the discussion.\n" for n in range(12)
    )
    cleaned = clean_pages([BODY + findings + prose])
    assert cleaned.reference_lists == []
    assert "reported case 3" in cleaned.text


def test_a_list_without_heading_that_ends_a_page_is_taken() -> None:
    figure_page = "Figure 1. The eye in section.\nThe rhabdomeres are labelled in green throughout.\n" * 5
    cleaned = clean_pages([BODY, UNHEADED_LIST, figure_page])
    assert len(cleaned.reference_lists) == 1 and "Montell" not in cleaned.text


def test_biomed_central_entries_end_their_author_list_at_the_colon() -> None:
    references = parse_reference_lists(
        [
            [
                "1. Kudsk KA, Fabian TC, Voeller G: Silent deep vein thrombosis in immobilized",
                "multiple trauma patients. Am J Surg 1989, 158:515-9.",
                "2. Geerts WH, Code KI: A prospective study of venous thromboembolism after major trauma.",
                "N Engl J Med 1994, 331:1601-6.",
            ]
        ]
    )
    assert [(e.key, e.title) for e in references.entries] == [
        ("Kudsk et al. 1989", "Silent deep vein thrombosis in immobilized multiple trauma patients"),
        ("Geerts & Code 1994", "A prospective study of venous thromboembolism after major trauma"),
    ]


def test_author_year_entries_with_a_group_author_glued_initials_and_a_broken_doi_link() -> None:
    references = parse_reference_lists(
        [
            [
                "Duriseti, S., Goetz, D.H., and Craik, C.S. (2010). Antagonistic anti-urokinase",
                "antibodies. J. Biol. Chem. 285, 26878–26888. https://doi. org/10.1074/jbc.",
                "M109.077677.",
                "Eli Lilly and Company (2021). A Phase 1/2 Study of LY3499446 Administered to",
                "Patients with Advanced Solid Tumors (clinicaltrials.Gov).",
                "YuH., J. K. Chen, S. Feng, et al., 1994 Structural basis for the binding of",
                "proline-rich peptides to SH3 domains. Cell 76: 933–945. https://doi. org/10.1016/",
                "0092-8674(94)90367-0 Cancer Cell 40, 1060–1069",
            ]
        ]
    )
    assert [e.key for e in references.entries] == [
        "Duriseti et al. 2010",
        "Eli Lilly & Company 2021",
        "Yu et al. 1994",
    ]
    assert references.printed == 3
    assert references.entries[0].doi == "10.1074/jbc.M109.077677"
    assert references.entries[2].doi == "10.1016/0092-8674(94)90367-0"
