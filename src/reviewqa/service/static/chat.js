// The chat page. All text from questions, answers and documents goes into the page through textContent
// and createTextNode only, never as HTML, so markup inside a document or a question stays inert text.
"use strict";

(function () {
  const HISTORY_TURNS_SENT = 6;
  const MARKER = /\[(\d+)\]/g;
  const WAITING = "Waiting for the answer to the previous question; press Enter again when it is shown.";
  const SCROLL_GAP_PX = 8;

  const elements = {
    form: document.getElementById("ask-form"),
    question: document.getElementById("question"),
    askButton: document.getElementById("ask-button"),
    conversation: document.getElementById("conversation"),
    hint: document.getElementById("empty-hint"),
    status: document.getElementById("status"),
    newConversation: document.getElementById("new-conversation"),
    panel: document.getElementById("passage-panel"),
    panelTitle: document.getElementById("passage-title"),
    panelMeta: document.getElementById("passage-meta"),
    panelText: document.getElementById("passage-text"),
    previous: document.getElementById("previous-passage"),
    next: document.getElementById("next-passage"),
    citedHeading: document.getElementById("cited-heading"),
    citedWorks: document.getElementById("cited-works"),
    closePanel: document.getElementById("close-panel"),
  };

  // Turns already answered, sent back as `history` so follow-up questions can lean on them.
  let history = [];
  let conversationId = 0;
  let lastOpener = null;
  // The conversation whose question awaits its answer, or null. A follow-up sent before the answer came
  // would go without it in `history`, so sending waits (a new conversation does not wait for the old one).
  let pendingIn = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(className, text, onClick) {
    const node = el("button", className, text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function setStatus(text) {
    elements.status.textContent = text;
  }

  async function fetchJson(url, options) {
    const response = await fetch(url, options);
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error ? body.error.message : response.statusText;
      const requestId = response.headers.get("X-Request-ID");
      throw new Error(message + (requestId ? " (request " + requestId + ")" : ""));
    }
    return body;
  }

  function passageUrl(passageId) {
    return "/api/v1/passages/" + passageId.split("/").map(encodeURIComponent).join("/");
  }

  // ---- links to cited works ---------------------------------------------------------------

  function linksFor(work) {
    const links = [];
    if (work.doi) links.push(["DOI", "https://doi.org/" + encodeURI(work.doi)]);
    if (work.pmid && /^\d+$/.test(work.pmid)) {
      links.push(["PubMed", "https://pubmed.ncbi.nlm.nih.gov/" + work.pmid + "/"]);
    }
    if (/^NCT\d{8}$/.test(work.key)) {
      links.push(["ClinicalTrials.gov", "https://clinicaltrials.gov/study/" + work.key]);
    }
    if (work.url && /^https?:\/\//.test(work.url) && !links.some((link) => link[1] === work.url)) {
      links.push(["Link", work.url]);
    }
    return links;
  }

  function workItem(work, details, citation) {
    const item = el("li", "cited-work");
    const head = el("p", "work-head");
    head.appendChild(el("strong", "work-key", work.key));
    const title = work.title || (details && details.title);
    if (title) head.appendChild(el("span", "work-title", " — " + title));
    item.appendChild(head);
    const links = linksFor(Object.assign({}, details || {}, work));
    if (links.length) {
      const linkLine = el("p", "work-links");
      links.forEach(([label, url]) => {
        const anchor = el("a", "", label);
        anchor.href = url;
        anchor.target = "_blank";
        anchor.rel = "noopener noreferrer";
        linkLine.appendChild(anchor);
      });
      item.appendChild(linkLine);
    }
    if (citation) item.appendChild(supportBlock(work));
    return item;
  }

  function supportBlock(work) {
    const support = work.support;
    if (!support) {
      const message = work.source_indexed ? "No close match in the indexed source" : "Source not indexed";
      return el("p", "not-indexed", message);
    }
    const details = el("details", "support");
    details.appendChild(el("summary", "", "In the source"));
    details.appendChild(el("blockquote", "support-quote", support.quote));
    const footer = el("p", "meta");
    footer.appendChild(el("span", "", "match " + support.score.toFixed(2) + " · "));
    footer.appendChild(button("link-button", "open source passage", (event) => {
      openPassage(support.passage_id, null, event.currentTarget, support.quote);
    }));
    details.appendChild(footer);
    return details;
  }

  // ---- the passage panel ------------------------------------------------------------------

  function renderPassageText(text, quote) {
    elements.panelText.replaceChildren();
    const at = quote ? text.indexOf(quote) : -1;
    if (at < 0) {
      elements.panelText.appendChild(document.createTextNode(text));
      return;
    }
    const mark = el("mark", "quote", quote);
    mark.id = "highlighted-quote";
    elements.panelText.append(document.createTextNode(text.slice(0, at)), mark,
      document.createTextNode(text.slice(at + quote.length)));
  }

  function setNeighbour(node, passageId) {
    node.hidden = !passageId;
    node.onclick = passageId ? () => openPassage(passageId, null, node) : null;
  }

  function kindLabel(kind, workKey) {
    if (kind !== "source") return "review";
    return workKey ? "source paper: " + workKey : "source paper (no bibliography key)";
  }

  function renderPanel(detail, citation, highlight) {
    const doc = detail.document_info;
    elements.panelTitle.textContent = citation ? "[" + citation.marker + "] " + doc.title : doc.title;
    const meta = [detail.section || "(no section)"];
    if (detail.page !== null && detail.page !== undefined) meta.push("page " + detail.page);
    meta.push(kindLabel(doc.kind, detail.work_key));
    meta.push(detail.passage_id);
    elements.panelMeta.textContent = meta.join(" · ");
    renderPassageText(detail.text, citation ? citation.quote : highlight);
    setNeighbour(elements.previous, detail.neighbours.previous);
    setNeighbour(elements.next, detail.neighbours.next);

    const byKey = new Map(detail.cited_works.map((work) => [work.key, work]));
    const works = citation ? citation.cited_works : detail.cited_works;
    elements.citedWorks.replaceChildren();
    elements.citedHeading.textContent = citation ? "Attributed to" : "Cited in this passage";
    if (!works.length) {
      const none = citation ? "The review states this without citing a work." : "No cited work in this passage.";
      elements.citedWorks.appendChild(el("li", "hint", none));
    }
    works.forEach((work) => {
      elements.citedWorks.appendChild(workItem(work, byKey.get(work.key), citation));
    });
  }

  // `highlight`: a quote to mark when there is no citation (the supporting sentence of a source paper).
  async function openPassage(passageId, citation, opener, highlight) {
    lastOpener = opener || null;
    setStatus("Loading passage…");
    try {
      const detail = await fetchJson(passageUrl(passageId));
      renderPanel(detail, citation, highlight || null);
      elements.panel.hidden = false;
      elements.panelTitle.focus();
      setStatus("");
    } catch (err) {
      setStatus("Could not load the passage: " + err.message);
    }
  }

  function closePanel() {
    elements.panel.hidden = true;
    if (lastOpener && document.body.contains(lastOpener)) lastOpener.focus();
  }

  // ---- answers ----------------------------------------------------------------------------

  function textWithMarkers(text, citations) {
    const byMarker = new Map(citations.map((c) => [c.marker, c]));
    const paragraph = el("p", "answer-text");
    let last = 0;
    for (const match of text.matchAll(MARKER)) {
      const citation = byMarker.get(Number(match[1]));
      if (!citation) continue;
      paragraph.appendChild(document.createTextNode(text.slice(last, match.index)));
      const marker = button("marker", "[" + citation.marker + "]", (event) => {
        openPassage(citation.passage_id, citation, event.currentTarget);
      });
      marker.setAttribute("aria-label", "Show source " + citation.marker + ": " + citation.title);
      marker.dataset.marker = String(citation.marker);
      paragraph.appendChild(marker);
      last = match.index + match[0].length;
    }
    paragraph.appendChild(document.createTextNode(text.slice(last)));
    return paragraph;
  }

  function sourceList(citations) {
    const list = el("ol", "sources");
    citations.forEach((citation) => {
      const item = el("li");
      const where = [citation.title, citation.section];
      if (citation.page !== null && citation.page !== undefined) where.push("p. " + citation.page);
      item.appendChild(button("source-link", "[" + citation.marker + "] " + where.filter(Boolean).join(" — "),
        (event) => openPassage(citation.passage_id, citation, event.currentTarget)));
      const kind = citation.document_kind === "source" ? "source" : "review";
      item.appendChild(el("span", "kind-tag kind-" + kind, kindLabel(kind, citation.work_key)));
      list.appendChild(item);
    });
    return list;
  }

  function closestPassages(passages) {
    const wrapper = el("div", "closest");
    wrapper.appendChild(el("p", "meta", "Closest passages:"));
    const list = el("ol", "sources");
    passages.forEach((passage) => {
      const item = el("li");
      const snippet = passage.text.length > 160 ? passage.text.slice(0, 157) + "…" : passage.text;
      item.appendChild(button("source-link closest-passage", (passage.section || passage.document) + ": " + snippet,
        (event) => openPassage(passage.passage_id, null, event.currentTarget)));
      list.appendChild(item);
    });
    wrapper.appendChild(list);
    return wrapper;
  }

  function renderAnswer(container, data) {
    container.replaceChildren();
    if (data.abstained) {
      container.classList.add("abstained");
      container.appendChild(el("p", "abstention", "No answer in the documents"));
      container.appendChild(el("p", "answer-text", data.answer || "The documents do not answer this question."));
      if (data.passages.length) container.appendChild(closestPassages(data.passages));
      return;
    }
    container.appendChild(textWithMarkers(data.answer, data.citations));
    if (data.citations.length) container.appendChild(sourceList(data.citations));
    container.appendChild(el("p", "meta", "confidence " + data.confidence.toFixed(2)));
  }

  async function ask(question) {
    const turn = el("li", "turn");
    turn.appendChild(el("p", "question", question));
    const answerBox = el("div", "answer pending", "Searching the documents…");
    turn.appendChild(answerBox);
    elements.conversation.appendChild(turn);
    elements.hint.hidden = true;
    reveal(turn);

    const askedIn = conversationId;
    const payload = { question: question, history: history.slice(-HISTORY_TURNS_SENT) };
    try {
      const data = await fetchJson("/api/v1/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
      if (askedIn !== conversationId) return; // the conversation was cleared meanwhile
      answerBox.classList.remove("pending");
      renderAnswer(answerBox, data);
      history.push({ question: question, answer: data.answer });
    } catch (err) {
      answerBox.classList.remove("pending");
      answerBox.classList.add("error");
      answerBox.textContent = "Error: " + err.message;
    }
    if (askedIn === conversationId) reveal(turn);
  }

  // Scrolls so the turn ends above the sticky question box, which otherwise covers it on small screens;
  // a turn taller than the room above the box shows from its start.
  function reveal(turn) {
    const room = elements.form.getBoundingClientRect().top - SCROLL_GAP_PX;
    const rect = turn.getBoundingClientRect();
    let delta = Math.max(0, rect.bottom - room);
    if (rect.top - delta < SCROLL_GAP_PX) delta = rect.top - SCROLL_GAP_PX;
    if (delta !== 0) window.scrollBy(0, delta);
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (pendingIn === conversationId) {
      setStatus(WAITING); // the typed question stays in the box
      return;
    }
    const question = elements.question.value.trim();
    if (!question) return;
    elements.question.value = "";
    const askedIn = conversationId;
    pendingIn = askedIn;
    elements.askButton.disabled = true;
    try {
      await ask(question);
    } finally {
      if (pendingIn === askedIn) pendingIn = null;
      if (askedIn === conversationId) {
        elements.askButton.disabled = false;
        if (elements.status.textContent === WAITING) setStatus("");
        elements.question.focus();
      }
    }
  }

  function newConversation() {
    conversationId += 1;
    history = [];
    elements.askButton.disabled = false;
    elements.conversation.replaceChildren();
    elements.hint.hidden = false;
    elements.panel.hidden = true;
    setStatus("");
    elements.question.focus();
  }

  elements.form.addEventListener("submit", onSubmit);
  elements.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      elements.form.requestSubmit();
    }
  });
  elements.newConversation.addEventListener("click", newConversation);
  elements.closePanel.addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !elements.panel.hidden) closePanel();
  });
  elements.question.focus();
})();
