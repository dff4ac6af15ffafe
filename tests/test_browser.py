"""The chat page in headless chromium: ask, open a citation and its highlighted quote, keep markup inert."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from service_support import (
    IMG_PAYLOAD,
    MOREAU_DOI,
    MOREAU_PMID,
    SCRIPT_PAYLOAD,
    live_server,
    write_hostile_corpus,
)

from reviewqa.service import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"
WAIT_S = 60
QUESTION = "Which IGF1R monoclonal antibodies were tested in breast cancer trials?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def review_url(review_index) -> Iterator[str]:
    with live_server(create_app(review_index.settings, review_index)) as url:
        yield url


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from conftest import make_settings

    from reviewqa.index import build_index, load_index

    settings = make_settings(tmp_path_factory.mktemp("hostile-browser"))
    write_hostile_corpus(settings)
    build_index(settings)
    with live_server(create_app(settings, load_index(settings))) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, css: str, count: int = 1):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= count)
    return driver.find_elements(By.CSS_SELECTOR, css)


def ask(driver, question: str, turn: int = 1):
    """Type the question, press Enter, and wait until the ``turn``-th answer is rendered."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "question")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    return wait_for(driver, ".turn .answer:not(.pending)", turn)[turn - 1]


def text_of(element) -> str:
    return element.get_attribute("textContent")


def open_first_source(driver, answer) -> None:
    """Click the first citation marker, or the first closest passage when the answer abstains."""
    from selenium.webdriver.common.by import By

    clickable = answer.find_elements(By.CSS_SELECTOR, ".marker") or answer.find_elements(
        By.CSS_SELECTOR, ".closest-passage"
    )
    assert clickable, "the answer offers nothing to open"
    clickable[0].click()
    wait_for(driver, "#passage-panel:not([hidden]) #passage-text")


def test_ask_click_citation_and_see_the_highlighted_quote(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(review_url + "/")
    answer = ask(browser, QUESTION)
    expected = requests.post(review_url + "/api/v1/ask", json={"question": QUESTION}, timeout=60).json()
    assert not expected["abstained"], "this question should be answerable from the review"
    markers = answer.find_elements(By.CSS_SELECTOR, ".marker")
    assert [m.get_attribute("data-marker") for m in markers] == [
        str(c["marker"]) for c in expected["citations"]
    ]

    markers[0].click()
    highlighted = wait_for(browser, "#passage-panel:not([hidden]) #highlighted-quote")[0]
    citation = expected["citations"][0]
    assert text_of(highlighted) == citation["quote"]
    assert citation["quote"] in text_of(browser.find_element(By.ID, "passage-text"))
    assert citation["section"] in text_of(browser.find_element(By.ID, "passage-meta"))
    assert browser.switch_to.active_element == browser.find_element(By.ID, "passage-title")

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-answer.png"))

    # Follow-up in the same conversation, then a fresh conversation.
    ask(browser, "And which of them were combined with chemotherapy?", turn=2)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#conversation .turn")) == 2
    browser.find_element(By.ID, "new-conversation").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#conversation .turn") == []
    assert not browser.find_element(By.ID, "passage-panel").is_displayed()


def test_page_fits_a_phone_screen(browser, review_url: str) -> None:
    browser.set_window_size(390, 844)
    browser.get(review_url + "/")
    answer = ask(browser, QUESTION)
    assert_visible_above_the_question_box(browser, answer)
    answer = ask(browser, "And which of them were combined with chemotherapy?", turn=2)
    assert_visible_above_the_question_box(browser, answer)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-phone-answer.png"))
    open_first_source(browser, answer)
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-phone.png"))


def assert_visible_above_the_question_box(driver, answer) -> None:
    """The answer starts on screen, above the sticky question box, and ends above it if it fits."""
    from selenium.webdriver.common.by import By

    form = driver.find_element(By.ID, "ask-form").rect
    box_top = form["y"] - driver.execute_script("return window.scrollY")
    top, bottom = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];", answer
    )
    assert 0 <= top < box_top, (top, bottom, box_top)
    turn = answer.find_element(By.XPATH, "./ancestor::li[contains(@class, 'turn')]")
    if turn.rect["height"] < box_top:
        assert bottom <= box_top, (top, bottom, box_top)


HOLD_ASKS = """
// Holds every POST /api/v1/ask until window.releaseAsk() is called, recording what was sent.
const realFetch = window.fetch;
window.sentAsks = [];
window.heldAsks = [];
window.fetch = function (url, options) {
  if (String(url).endsWith("/api/v1/ask")) {
    window.sentAsks.push(JSON.parse(options.body));
    return new Promise((resolve) => window.heldAsks.push(() => resolve(realFetch(url, options))));
  }
  return realFetch(url, options);
};
window.releaseAsk = () => window.heldAsks.shift()();
"""


def test_enter_while_an_answer_is_pending_does_not_send(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(review_url + "/")
    browser.execute_script(HOLD_ASKS)
    box = browser.find_element(By.ID, "question")
    box.send_keys(QUESTION, Keys.ENTER)
    follow_up = "And which of them were combined with chemotherapy?"
    box.send_keys(follow_up, Keys.ENTER)  # the first answer has not come yet

    assert browser.execute_script("return window.sentAsks.length") == 1
    assert box.get_attribute("value") == follow_up  # kept, to send once the answer is in
    assert not browser.find_element(By.ID, "ask-button").is_enabled()
    assert "Waiting for the answer" in text_of(browser.find_element(By.ID, "status"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#conversation .turn")) == 1

    browser.execute_script("window.releaseAsk()")
    first = wait_for(browser, ".turn .answer:not(.pending)")[0]
    assert browser.find_element(By.ID, "ask-button").is_enabled()
    assert text_of(browser.find_element(By.ID, "status")) == ""
    box.send_keys(Keys.ENTER)
    sent = browser.execute_script("return window.sentAsks")
    assert [a["question"] for a in sent] == [QUESTION, follow_up]
    answer_text = text_of(first.find_element(By.CSS_SELECTOR, ".answer-text"))
    assert [t["question"] for t in sent[1]["history"]] == [QUESTION]
    assert sent[1]["history"][0]["answer"].split("[")[0].strip()[:40] in answer_text
    browser.execute_script("window.releaseAsk()")
    wait_for(browser, ".turn .answer:not(.pending)", 2)


def test_source_cards_tell_source_papers_from_the_review(browser, hostile_url: str) -> None:
    """One card per cited passage, named by the source paper it quotes or by the document it is from."""
    from selenium.webdriver.common.by import By

    browser.get(hostile_url + "/")
    for turn, question in enumerate(
        ["How much did xenograft tumours shrink in treated mice compared with controls?",
         "Did the ZQX7 inhibitor reduce the growth of xenograft tumours?"],
        start=1,
    ):  # fmt: skip
        expected = requests.post(hostile_url + "/api/v1/ask", json={"question": question}, timeout=60).json()
        answer = ask(browser, question, turn=turn)
        cards = answer.find_elements(By.CSS_SELECTOR, ".sources .source-card")
        passages = list(dict.fromkeys(c["passage_id"] for c in expected["citations"]))
        assert [card.get_attribute("data-passage-id") for card in cards] == passages
        assert passages, expected
        for card, passage_id in zip(cards, passages, strict=True):
            first = next(c for c in expected["citations"] if c["passage_id"] == passage_id)
            source = first["document_kind"] == "source"
            assert text_of(card.find_element(By.CSS_SELECTOR, ".kind-tag")) == (
                "source paper" if source else "review"
            )
            if source:
                assert text_of(card.find_element(By.CSS_SELECTOR, ".card-title")) == first["work_key"]
    titles = {text_of(t) for t in browser.find_elements(By.CSS_SELECTOR, ".source-card .card-title")}
    assert "Moreau et al. 2019" in titles


def test_markup_in_a_question_is_shown_as_text(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(review_url + "/")
    title = browser.title
    question = f"IGF1R {IMG_PAYLOAD} antibodies {SCRIPT_PAYLOAD}?"
    ask(browser, question)
    shown = text_of(browser.find_element(By.CSS_SELECTOR, "#conversation .turn .question"))
    assert shown == question
    assert browser.find_elements(By.CSS_SELECTOR, "#conversation img, #conversation script") == []
    assert browser.title == title


def test_markup_in_a_passage_is_shown_as_text(browser, hostile_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(hostile_url + "/")
    title = browser.title
    answer = ask(browser, "Which compound inhibited the ZQX7 kinase in cultured cells?")
    open_first_source(browser, answer)
    passage_text = text_of(browser.find_element(By.ID, "passage-text"))
    assert IMG_PAYLOAD in passage_text or SCRIPT_PAYLOAD in passage_text
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    assert browser.title == title
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-markup.png"))


def test_cited_work_links_and_its_support_in_the_source(browser, hostile_url: str) -> None:
    from selenium.webdriver.common.by import By

    question = "Did the ZQX7 inhibitor reduce the growth of xenograft tumours?"
    expected = requests.post(hostile_url + "/api/v1/ask", json={"question": question}, timeout=60).json()
    attributed = [c for c in expected["citations"] if c["cited_works"]]
    assert attributed, "the answer should attribute the claim to Moreau et al. 2019"
    support = attributed[0]["cited_works"][0]["support"]
    assert support is not None

    browser.get(hostile_url + "/")
    answer = ask(browser, question)
    marker = answer.find_element(By.CSS_SELECTOR, f'.marker[data-marker="{attributed[0]["marker"]}"]')
    marker.click()
    wait_for(browser, "#passage-panel:not([hidden]) .cited-work")
    work = browser.find_element(By.CSS_SELECTOR, "#cited-works .cited-work")
    assert "Moreau et al. 2019" in text_of(work)
    hrefs = {a.get_attribute("href") for a in work.find_elements(By.CSS_SELECTOR, ".work-links a")}
    assert f"https://doi.org/{MOREAU_DOI}" in hrefs
    assert f"https://pubmed.ncbi.nlm.nih.gov/{MOREAU_PMID}/" in hrefs

    quote = work.find_element(By.CSS_SELECTOR, "details.support .support-quote")
    assert not quote.is_displayed()
    work.find_element(By.CSS_SELECTOR, "details.support summary").click()
    assert quote.is_displayed()
    assert text_of(quote) == support["quote"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-support.png"))

    # The support's source passage opens in the panel.
    work.find_element(By.CSS_SELECTOR, "details.support .link-button").click()
    wait_for(browser, "#passage-panel:not([hidden])")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(
        lambda d: support["passage_id"] in text_of(d.find_element(By.ID, "passage-meta"))
    )
    assert support["quote"] in text_of(browser.find_element(By.ID, "passage-text"))
    assert text_of(browser.find_element(By.ID, "highlighted-quote")) == support["quote"]
    assert "source paper: Moreau et al. 2019" in text_of(browser.find_element(By.ID, "passage-meta"))


def test_a_cited_work_without_an_indexed_source_says_so(browser, hostile_url: str) -> None:
    from selenium.webdriver.common.by import By

    question = "Were both effects confirmed in a second laboratory?"
    expected = requests.post(hostile_url + "/api/v1/ask", json={"question": question}, timeout=60).json()
    dupont = [c for c in expected["citations"] if any(w["key"] == "Dupont 2020" for w in c["cited_works"])]
    assert dupont, "the answer should attribute the confirmation to Dupont 2020"

    browser.get(hostile_url + "/")
    answer = ask(browser, question)
    answer.find_element(By.CSS_SELECTOR, f'.marker[data-marker="{dupont[0]["marker"]}"]').click()
    wait_for(browser, "#passage-panel:not([hidden]) .cited-work")
    works = {
        text_of(w.find_element(By.CSS_SELECTOR, ".work-key")): w
        for w in browser.find_elements(By.CSS_SELECTOR, "#cited-works .cited-work")
    }
    assert "Source not indexed" in text_of(works["Dupont 2020"])
    assert works["Dupont 2020"].find_elements(By.CSS_SELECTOR, "details.support") == []


def test_an_abstention_is_shown_with_the_closest_passages(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    question = "What is the boiling point of liquid nitrogen?"
    expected = requests.post(review_url + "/api/v1/ask", json={"question": question}, timeout=60).json()
    assert expected["abstained"]

    browser.get(review_url + "/")
    answer = ask(browser, question)
    assert answer.find_elements(By.CSS_SELECTOR, ".abstention")
    assert text_of(answer.find_element(By.CSS_SELECTOR, ".answer-text")) == expected["answer"]
    assert answer.find_elements(By.CSS_SELECTOR, ".marker") == []
    closest = answer.find_elements(By.CSS_SELECTOR, ".closest-passage")
    assert len(closest) == len(expected["passages"])
    closest[0].click()
    wait_for(browser, "#passage-panel:not([hidden])")
    first = expected["passages"][0]
    assert text_of(browser.find_element(By.ID, "passage-text")) == first["text"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-abstention.png"))


# ---------------------------------------------------------------- the redesigned page

# Questions whose answers cite one passage twice on the review (two markers, one source card); the first
# one the answer stage still answers that way is used, so a change in answers does not void the test.
SHARED_PASSAGE_QUESTIONS = [
    "What was the major toxicity of ganitumab combined with endocrine therapy?",
    "Which endocrine agents were combined with ganitumab in the Robertson trial?",
    "Was pegvisomant developed as a breast cancer drug?",
    "Why do IGF1R antibodies cause high blood sugar?",
    "Is INSR regulated by ER the way IGF1R is regulated by estradiol?",
]
VIEWPORT_RECT = "return arguments[0].getBoundingClientRect().toJSON()"
LAYOUT = """
const boxes = [...document.querySelectorAll(arguments[0])].map((e) => {
  const r = e.getBoundingClientRect();
  return [r.x, r.y, r.width, r.height];
});
return {boxes: boxes, scrollY: window.scrollY};
"""


def wait_for_animations(driver) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script("return document.getAnimations().every((a) => a.playState !== 'running')")
    )


def answer_citing_a_passage_twice(url: str) -> tuple[str, dict]:
    for question in SHARED_PASSAGE_QUESTIONS:
        expected = requests.post(url + "/api/v1/ask", json={"question": question}, timeout=60).json()
        ids = [c["passage_id"] for c in expected["citations"]]
        if len(set(ids)) < len(ids) and any(c["cited_works"] for c in expected["citations"]):
            return question, expected
    pytest.fail("no answer cites a passage twice any more; add a question that does")


def test_citations_of_one_passage_share_a_source_card(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    question, expected = answer_citing_a_passage_twice(review_url)
    browser.get(review_url + "/")
    answer = ask(browser, question)
    groups: dict[str, list[dict]] = {}
    for citation in expected["citations"]:
        groups.setdefault(citation["passage_id"], []).append(citation)
    cards = answer.find_elements(By.CSS_SELECTOR, ".source-card")
    assert len(cards) == len(groups) < len(expected["citations"])
    for card, (passage_id, citations) in zip(cards, groups.items(), strict=True):
        assert card.get_attribute("data-passage-id") == passage_id
        assert text_of(card.find_element(By.CSS_SELECTOR, ".card-markers")) == " · ".join(
            str(c["marker"]) for c in citations
        )
        keys = list(dict.fromkeys(w["key"] for c in citations for w in c["cited_works"]))
        title = card.find_element(By.CSS_SELECTOR, ".card-title")
        if keys:  # named by the cited work, Author Year, with the document beside it
            assert text_of(title).startswith(keys[0]) and title.get_attribute("title") == "; ".join(keys)
            assert text_of(card.find_element(By.CSS_SELECTOR, ".card-doc")) == "in Yee 2018"
        else:
            assert text_of(title) == "Yee 2018"
        section = card.find_element(By.CSS_SELECTOR, ".card-section")
        assert section.get_attribute("title") == citations[0]["section"]
        assert text_of(section) == citations[0]["section"].split(" > ")[-1]

    # A shared card opens its passage with every quote of it marked.
    shared = next(i for i, cs in enumerate(groups.values()) if len(cs) > 1)
    cards[shared].find_element(By.CSS_SELECTOR, ".source-link").click()
    wait_for(browser, "#passage-panel:not([hidden]) mark.quote")
    marks = [text_of(m) for m in browser.find_elements(By.CSS_SELECTOR, "#passage-text mark.quote")]
    passage_id, citations = list(groups.items())[shared]
    text = requests.get(f"{review_url}/api/v1/passages/{passage_id}", timeout=30).json()["text"]
    assert marks == marked_quotes(text, [c["quote"] for c in citations])

    # The cited works are listed under the answer, with their links.
    works = {w["key"]: w for c in expected["citations"] for w in c["cited_works"]}
    listed = answer.find_elements(By.CSS_SELECTOR, ".answer-works .answer-work")
    assert [text_of(item.find_element(By.CSS_SELECTOR, ".work-key")) for item in listed] == list(works)
    for item in listed:
        work = works[text_of(item.find_element(By.CSS_SELECTOR, ".work-key"))]
        hrefs = {a.get_attribute("href") for a in item.find_elements(By.CSS_SELECTOR, "a")}
        if work["doi"]:
            assert f"https://doi.org/{work['doi']}" in hrefs
        if work["pmid"]:
            assert f"https://pubmed.ncbi.nlm.nih.gov/{work['pmid']}/" in hrefs
    confidence = answer.find_element(By.CSS_SELECTOR, ".confidence")
    assert text_of(confidence) in ("Strong evidence", "Partial evidence")
    assert f"{expected['confidence']:.2f}" in confidence.get_attribute("title")


def marked_quotes(text: str, quotes: list[str]) -> list[str]:
    """The quotes in the order they stand in ``text``; one overlapping an earlier one is not marked."""
    spans = sorted((text.index(q), text.index(q) + len(q)) for q in set(quotes))
    marked, end = [], 0
    for start, stop in spans:
        if start >= end:
            marked.append(text[start:stop])
            end = stop
    return marked


def test_the_drawer_does_not_move_the_conversation(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(review_url + "/")
    ask(browser, QUESTION)
    answer = ask(browser, "And which of them were combined with chemotherapy?", turn=2)
    parts = "#conversation .turn, .question, .answer-text, .source-card, #ask-form"
    before = browser.execute_script(LAYOUT, parts)
    marker = answer.find_element(By.CSS_SELECTOR, ".marker")
    marker.click()
    drawer = wait_for(browser, "#passage-panel:not([hidden]) #highlighted-quote")[0]
    wait_for_animations(browser)
    assert browser.execute_script(LAYOUT, parts) == before
    assert browser.switch_to.active_element == browser.find_element(By.ID, "passage-title")
    panel = browser.execute_script(VIEWPORT_RECT, browser.find_element(By.ID, "passage-panel"))
    assert panel["right"] == browser.execute_script("return document.documentElement.clientWidth")
    assert drawer.is_displayed()
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-drawer.png"))
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not browser.find_element(By.ID, "passage-panel").is_displayed()
    assert browser.switch_to.active_element == marker  # focus goes back where it came from
    assert browser.execute_script(LAYOUT, parts) == before


def test_the_phone_bottom_sheet_keeps_the_scroll_position(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    browser.get(review_url + "/")
    first = ask(browser, QUESTION)
    ask(browser, "And which of them were combined with chemotherapy?", turn=2)
    marker = first.find_element(By.CSS_SELECTOR, ".marker")
    # Scroll back up to the first answer, as a reader checking its sources would.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", marker)
    parts = "#conversation .turn, .answer-text"
    before = browser.execute_script(LAYOUT, parts)
    assert before["scrollY"] > 0
    marker.click()
    wait_for(browser, "#passage-panel:not([hidden]) #highlighted-quote")
    wait_for_animations(browser)
    assert browser.execute_script(LAYOUT, parts) == before
    height, width = browser.execute_script(
        "return [window.innerHeight, document.documentElement.clientWidth]"
    )
    sheet = browser.execute_script(VIEWPORT_RECT, browser.find_element(By.ID, "passage-panel"))
    assert abs(sheet["bottom"] - height) <= 1 and sheet["width"] == width
    assert sheet["top"] >= height * 0.2  # a sheet over the lower part, not a new page
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-phone-sheet.png"))
    browser.find_element(By.ID, "close-panel").click()
    assert not browser.find_element(By.ID, "passage-panel").is_displayed()
    assert browser.execute_script(LAYOUT, parts) == before
    assert browser.switch_to.active_element == marker


READ_CLIPBOARD = """
const done = arguments[arguments.length - 1];
navigator.clipboard.readText().then(done, (err) => done("clipboard error: " + err));
"""


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": review_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    expected = requests.post(review_url + "/api/v1/ask", json={"question": QUESTION}, timeout=60).json()
    browser.get(review_url + "/")
    answer = ask(browser, QUESTION)
    copy = answer.find_element(By.CSS_SELECTOR, ".copy-answer")
    copy.click()
    WebDriverWait(browser, WAIT_S).until(lambda d: text_of(copy) != "Copy")
    assert text_of(copy) == "Copied"
    copied = browser.execute_async_script(READ_CLIPBOARD)
    assert copied.startswith(f"Q: {QUESTION}\n\n{expected['answer']}\n\nSources:\n"), copied
    for citation in expected["citations"]:
        assert f"[{citation['marker']}] Yee 2018, {citation['section']}" in copied
        assert f"\u201c{citation['quote']}\u201d" in copied


def test_export_downloads_the_conversations_cited_works(browser, review_url: str, tmp_path: Path) -> None:
    import csv
    import io
    import time

    import bibtexparser
    from selenium.webdriver.common.by import By

    question, expected = answer_citing_a_passage_twice(review_url)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    browser.get(review_url + "/")
    assert not browser.find_element(By.ID, "conversation-tools").is_displayed()
    ask(browser, question)
    keys = list(dict.fromkeys(w["key"] for c in expected["citations"] for w in c["cited_works"]))

    def download(link_id: str, name: str) -> str:
        browser.find_element(By.ID, link_id).click()
        path = downloads / name
        deadline = time.monotonic() + WAIT_S
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert path.exists(), sorted(p.name for p in downloads.iterdir())
        return path.read_text(encoding="utf-8")

    library = bibtexparser.parse_string(download("export-bibtex", "reviewqa-cited-works.bib"))
    assert library.failed_blocks == []
    notes = [entry.fields_dict["note"].value for entry in library.entries]
    assert notes == [f"Cited as {key}" for key in [*keys, "Yee 2018"]]

    ris_text = download("export-ris", "reviewqa-cited-works.ris")
    records = [r for r in ris_text.split("ER  - ") if r.strip()]
    assert len(records) == len(keys) + 1
    assert all(record.strip().startswith("TY  - ") for record in records)

    rows = list(csv.DictReader(io.StringIO(download("export-csv", "reviewqa-cited-works.csv"))))
    assert [row["key"] for row in rows] == [*keys, "Yee 2018"]


HOLD_NOTHING_RECORD_ASKS = """
const realFetch = window.fetch;
window.sentAsks = [];
window.fetch = function (url, options) {
  if (String(url).endsWith("/api/v1/ask")) window.sentAsks.push(JSON.parse(options.body));
  return realFetch(url, options);
};
"""


def test_the_conversation_survives_a_reload(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(review_url + "/")
    first = ask(browser, QUESTION)
    markers = [m.get_attribute("data-marker") for m in first.find_elements(By.CSS_SELECTOR, ".marker")]
    shown = text_of(first.find_element(By.CSS_SELECTOR, ".answer-text"))

    browser.refresh()
    restored = wait_for(browser, "#conversation .turn .answer:not(.pending)")[0]
    assert text_of(browser.find_element(By.CSS_SELECTOR, "#conversation .question")) == QUESTION
    assert text_of(restored.find_element(By.CSS_SELECTOR, ".answer-text")) == shown
    assert [
        m.get_attribute("data-marker") for m in restored.find_elements(By.CSS_SELECTOR, ".marker")
    ] == markers
    assert not browser.find_element(By.ID, "welcome").is_displayed()
    restored.find_element(By.CSS_SELECTOR, ".marker").click()
    wait_for(browser, "#passage-panel:not([hidden]) #highlighted-quote")

    # A follow-up after the reload still sends the earlier turn as history.
    browser.execute_script(HOLD_NOTHING_RECORD_ASKS)
    ask(browser, "And which of them were combined with chemotherapy?", turn=2)
    sent = browser.execute_script("return window.sentAsks")
    assert [turn["question"] for turn in sent[0]["history"]] == [QUESTION]

    browser.find_element(By.ID, "new-conversation").click()
    browser.refresh()
    wait_for(browser, "#welcome:not([hidden]) .example")
    assert browser.find_elements(By.CSS_SELECTOR, "#conversation .turn") == []


def test_the_first_visit_offers_example_questions_and_lists_the_documents(browser, review_url: str) -> None:
    from selenium.webdriver.common.by import By

    examples = requests.get(review_url + "/api/v1/examples", timeout=60).json()["questions"]
    browser.get(review_url + "/")
    buttons = wait_for(browser, "#examples .example", len(examples))
    assert [text_of(b) for b in buttons] == [e["question"] for e in examples]
    assert "1 document, 46 passages" in text_of(browser.find_element(By.ID, "corpus-summary"))
    browser.find_element(By.CSS_SELECTOR, "#documents-menu summary").click()
    listed = browser.find_elements(By.CSS_SELECTOR, "#document-list .document")
    assert [text_of(d.find_element(By.CSS_SELECTOR, ".document-label")) for d in listed] == ["Yee 2018"]
    assert listed[0].is_displayed()
    browser.find_element(By.CSS_SELECTOR, "#documents-menu summary").click()
    buttons[0].click()
    wait_for(browser, ".turn .answer:not(.pending)")
    assert (
        text_of(browser.find_element(By.CSS_SELECTOR, "#conversation .question")) == examples[0]["question"]
    )
    assert not browser.find_element(By.ID, "welcome").is_displayed()


def luminance(css_color: str) -> float:
    channels = [float(v) for v in css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")[:3]]
    return sum(weight * value / 255 for weight, value in zip((0.2126, 0.7152, 0.0722), channels, strict=True))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_follows_the_color_scheme(browser, review_url: str, scheme: str) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )
    browser.get(review_url + "/")
    answer = ask(browser, QUESTION)
    page = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    ink = browser.execute_script("return getComputedStyle(document.body).color")
    card = answer.find_element(By.CSS_SELECTOR, ".source-card").value_of_css_property("background-color")
    if scheme == "dark":
        assert luminance(page) < 0.15 and luminance(card) < 0.2 and luminance(ink) > 0.75
    else:
        assert luminance(page) > 0.9 and luminance(card) > 0.9 and luminance(ink) < 0.2
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"chat-{scheme}.png"))


HOSTILE_TURN = {
    "question": IMG_PAYLOAD,
    "data": {
        "answer": f"See {SCRIPT_PAYLOAD} [1]",
        "abstained": False,
        "confidence": 0.9,
        "passages": [],
        "citations": [
            {
                "marker": 1,
                "passage_id": "x:1",
                "document": "x",
                "title": IMG_PAYLOAD,
                "section": SCRIPT_PAYLOAD,
                "page": None,
                "quote": "q",
                "document_kind": "review",
                "work_key": None,
                "cited_works": [
                    {
                        "key": IMG_PAYLOAD,
                        "doi": None,
                        "pmid": None,
                        "title": SCRIPT_PAYLOAD,
                        "url": "javascript:document.title='pwned-link'",
                        "support": None,
                        "source_indexed": False,
                    }
                ],
            }
        ],
    },
}


def test_markup_in_a_kept_conversation_is_shown_as_text(browser, review_url: str) -> None:
    """localStorage is input too: a conversation stored with markup in it is drawn as text."""
    from selenium.webdriver.common.by import By

    browser.get(review_url + "/")
    title = browser.title
    browser.execute_script(
        "localStorage.setItem('reviewqa.conversation.v1', arguments[0])",
        json.dumps({"turns": [HOSTILE_TURN]}),
    )
    browser.refresh()
    answer = wait_for(browser, "#conversation .turn .answer:not(.pending)")[0]
    assert text_of(browser.find_element(By.CSS_SELECTOR, "#conversation .question")) == IMG_PAYLOAD
    assert SCRIPT_PAYLOAD in text_of(answer)
    assert IMG_PAYLOAD in text_of(answer.find_element(By.CSS_SELECTOR, ".answer-works"))
    assert browser.find_elements(By.CSS_SELECTOR, "body img, body script") == []
    assert answer.find_elements(By.CSS_SELECTOR, "a[href^='javascript']") == []
    assert browser.title == title


def test_a_yes_no_verdict_leads_the_answer_when_the_answer_stage_gives_one(browser, review_url: str) -> None:
    """`verdict` is an optional Answer field (the answer stage adds it for yes/no questions)."""
    from selenium.webdriver.common.by import By

    plain = requests.post(review_url + "/api/v1/ask", json={"question": QUESTION}, timeout=60).json()
    turns = [
        {"question": "Was it tested?", "data": {**plain, "verdict": "yes", "question_type": "yes_no"}},
        {"question": QUESTION, "data": plain},
    ]
    browser.get(review_url + "/")
    browser.execute_script(
        "localStorage.setItem('reviewqa.conversation.v1', arguments[0])", json.dumps({"turns": turns})
    )
    browser.refresh()
    answers = wait_for(browser, "#conversation .turn .answer:not(.pending)", 2)
    verdict = answers[0].find_element(By.CSS_SELECTOR, ".verdict")
    assert text_of(verdict) == "Yes"
    assert verdict.location["y"] < answers[0].find_element(By.CSS_SELECTOR, ".answer-text").location["y"]
    assert answers[1].find_elements(By.CSS_SELECTOR, ".verdict") == []


def test_screenshots(browser, review_url: str) -> None:
    """The README's two screenshots: `make screenshots` writes them to docs/ (REVIEWQA_SCREENSHOTS_DIR)."""
    from selenium.webdriver.common.by import By

    question, _ = answer_citing_a_passage_twice(review_url)
    targets = [ARTIFACTS]
    if os.environ.get("REVIEWQA_SCREENSHOTS_DIR"):
        targets.append(Path(os.environ["REVIEWQA_SCREENSHOTS_DIR"]))
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]}
    )
    browser.set_window_size(1280, 860)
    browser.get(review_url + "/")
    answer = ask(browser, question)
    answer.find_element(By.CSS_SELECTOR, ".source-card .source-link").click()
    wait_for(browser, "#passage-panel:not([hidden]) #highlighted-quote")
    wait_for_animations(browser)
    save_screenshot(browser, targets, "chat-desktop.png")
    browser.find_element(By.ID, "close-panel").click()
    browser.set_window_size(390, 844)
    browser.execute_script("window.scrollTo(0, 0)")
    save_screenshot(browser, targets, "chat-phone.png")


def save_screenshot(driver, folders: list[Path], name: str) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(folder / name))


@pytest.fixture(scope="module")
def collections_url(collections_template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The small review beside a second collection, "notes"; uploads allowed (this machine, no token)."""
    from collection_support import copy_of

    settings = copy_of(collections_template, tmp_path_factory.mktemp("collections-browser") / "project")
    with live_server(create_app(settings)) as url:
        yield url


def test_choose_a_collection_add_a_document_and_follow_its_progress(
    browser, collections_url: str, tmp_path: Path
) -> None:
    from collection_support import NOTES_QUESTION
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(collections_url + "/")
    picker = Select(wait_for(browser, "#collection-picker:not([hidden]) #collection-select")[0])
    assert [o.get_attribute("value") for o in picker.options] == ["review", "notes"]
    picker.select_by_value("notes")
    WebDriverWait(browser, WAIT_S).until(lambda d: text_of(d.find_element(By.ID, "document-count")) == "(1)")
    answer = ask(browser, NOTES_QUESTION)
    assert "forty percent" in text_of(answer)

    paper = tmp_path / "Quartz lanterns <img src=x>.txt"
    paper.write_text(
        "Quartz lanterns\n\nThe quartz lantern study followed 310 lighthouse keepers and found that blue "
        "quartz lanterns halved night-time eye strain compared with amber ones.\n",
        encoding="utf-8",
    )
    browser.find_element(By.CSS_SELECTOR, "#documents-menu summary").click()
    browser.find_element(By.ID, "upload-file").send_keys(str(paper))
    name = browser.find_element(By.ID, "upload-collection")
    assert name.get_attribute("value") == "notes"
    name.clear()
    name.send_keys("lanterns")  # a new collection
    browser.find_element(By.ID, "upload-button").click()
    seen: list[tuple[str, str]] = []

    def finished(driver) -> bool:
        status = text_of(driver.find_element(By.ID, "job-status"))
        value = driver.find_element(By.ID, "job-progress").get_attribute("value")
        if status and (not seen or seen[-1] != (status, value)):
            seen.append((status, value))
        return status.startswith(("Added", "Could not"))

    WebDriverWait(browser, 120, poll_frequency=0.1).until(finished)
    assert seen[-1][0].startswith("Added Quartz-lanterns-img-src-x.txt"), seen
    assert float(seen[-1][1]) == 1.0
    assert any(status.endswith(("Waiting to start", "Reading the document")) for status, _ in seen[:-1]), seen
    assert [float(value) for _, value in seen] == sorted(float(value) for _, value in seen)
    # The page moved to the new collection, which answers from the new document.
    selected = Select(browser.find_element(By.ID, "collection-select"))
    WebDriverWait(browser, WAIT_S).until(
        lambda _: selected.first_selected_option.get_attribute("value") == "lanterns"
    )
    answer = ask(browser, "Which quartz lanterns halved night-time eye strain?")
    assert "blue quartz" in text_of(answer)

    browser.set_window_size(390, 844)
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_no_upload_form_when_uploads_are_not_allowed(browser, collections_template) -> None:
    from selenium.webdriver.common.by import By

    with live_server(create_app(collections_template.replace(host="0.0.0.0"))) as url:
        browser.get(url + "/")
        wait_for(browser, "#collection-picker:not([hidden])")
        browser.find_element(By.CSS_SELECTOR, "#documents-menu summary").click()
        wait_for(browser, "#document-list .document")
        assert not browser.find_element(By.ID, "upload-form").is_displayed()
