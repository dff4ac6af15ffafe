"""The chat page in headless chromium: ask, open a citation and its highlighted quote, keep markup inert."""

from __future__ import annotations

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


def test_source_list_tells_source_papers_from_the_review(browser, hostile_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(hostile_url + "/")
    for turn, question in enumerate(
        ["How much did xenograft tumours shrink in treated mice compared with controls?",
         "Did the ZQX7 inhibitor reduce the growth of xenograft tumours?"],
        start=1,
    ):  # fmt: skip
        expected = requests.post(hostile_url + "/api/v1/ask", json={"question": question}, timeout=60).json()
        answer = ask(browser, question, turn=turn)
        tags = [text_of(tag) for tag in answer.find_elements(By.CSS_SELECTOR, ".sources .kind-tag")]
        assert tags == [
            f"source paper: {c['work_key']}" if c["document_kind"] == "source" else "review"
            for c in expected["citations"]
        ]
        assert tags, expected
    shown = {text_of(t) for t in browser.find_elements(By.CSS_SELECTOR, ".kind-tag")}
    assert shown == {"source paper: Moreau et al. 2019", "review"}


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
