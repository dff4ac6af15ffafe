// The chat page. All text from questions, answers and documents goes into the page through textContent
// and createTextNode only, never as HTML, so markup inside a document or a question stays inert text.
"use strict";

(function () {
  const HISTORY_TURNS_SENT = 6;
  const STORED_TURNS = 30;
  const STORAGE_KEY = "reviewqa.conversation.v1";
  const MARKER = /\[(\d+)\]/g;
  const WAITING = "Waiting for the answer to the previous question; press Enter again when it is shown.";
  const SCROLL_GAP_PX = 8;
  // Confidence is a score from 0 to 1 (in the JSON); the page says it in words. Below the service's
  // abstention threshold (0.4 by default) there is no answer at all.
  const STRONG_EVIDENCE = 0.6;
  const CONFIDENCE_TIP = "How closely the quoted sentences match the question, from 0 to 1. " +
    "Strong evidence: 0.6 or more; partial evidence: some of the question is matched. " +
    "Below about 0.4 the service does not answer.";
  const VERDICTS = { yes: "Yes", no: "No", mixed: "Mixed evidence", unclear: "Unclear" };
  const COLLECTION_KEY = "reviewqa.collection";
  const TOKEN_KEY = "reviewqa.uploadToken"; // sessionStorage: forgotten when the tab closes
  const COLLECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
  const JOB_POLL_MS = 1000;
  const SERVED_WAIT_MS = 30000;
  const JOB_SHOWN_MS = 20000; // how long a finished upload's line stays under the question box
  // Where each stage of an upload's job starts and ends on the progress bar (its done/total fills the span).
  const JOB_STAGES = {
    sending: [0, 0.05], queued: [0.05, 0.05], reading: [0.05, 0.3], ingesting: [0.3, 0.4],
    embedding: [0.4, 0.9], swapping: [0.9, 0.97], done: [1, 1], failed: [1, 1],
  };

  const $ = (id) => document.getElementById(id);
  const elements = {
    form: $("ask-form"),
    question: $("question"),
    askButton: $("ask-button"),
    conversation: $("conversation"),
    welcome: $("welcome"),
    examples: $("examples"),
    examplesTitle: $("examples-title"),
    corpusSummary: $("corpus-summary"),
    documentCount: $("document-count"),
    documentList: $("document-list"),
    status: $("status"),
    newConversation: $("new-conversation"),
    composer: document.querySelector(".composer"),
    tools: $("conversation-tools"),
    exportLinks: { bibtex: $("export-bibtex"), ris: $("export-ris"), csv: $("export-csv") },
    panel: $("passage-panel"),
    panelTitle: $("passage-title"),
    panelMeta: $("passage-meta"),
    panelText: $("passage-text"),
    previous: $("previous-passage"),
    next: $("next-passage"),
    citedHeading: $("cited-heading"),
    citedWorks: $("cited-works"),
    closePanel: $("close-panel"),
    collectionPicker: $("collection-picker"),
    collectionSelect: $("collection-select"),
    uploadForm: $("upload-form"),
    uploadHelp: $("upload-help"),
    uploadFile: $("upload-file"),
    uploadCollection: $("upload-collection"),
    uploadTokenRow: $("upload-token-row"),
    uploadToken: $("upload-token"),
    uploadButton: $("upload-button"),
    jobBox: $("job-box"),
    jobProgress: $("job-progress"),
    jobStatus: $("job-status"),
  };

  // The conversation: questions and the Answer JSON they got, oldest first (also kept in localStorage).
  let turns = [];
  const documents = new Map(); // doc_id -> document from /api/v1/documents
  let conversationId = 0;
  let lastOpener = null;
  // The conversation whose question awaits its answer, or null. A follow-up sent before the answer came
  // would go without it in `history`, so sending waits (a new conversation does not wait for the old one).
  let pendingIn = null;
  // The collection asked (null until the service's list is in: the service's default is used meanwhile),
  // the service's default collection, and what the service says about uploads from this page.
  let collection = null;
  let defaultCollection = null;
  let uploadPolicy = null;

  // ---- small helpers ----------------------------------------------------------------------

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

  // ``url`` with the chosen collection as its `collection` query parameter.
  function inCollection(url) {
    if (!collection) return url;
    return url + (url.includes("?") ? "&" : "?") + "collection=" + encodeURIComponent(collection);
  }

  function passageUrl(passageId) {
    return inCollection("/api/v1/passages/" + passageId.split("/").map(encodeURIComponent).join("/"));
  }

  function unique(values) {
    return Array.from(new Set(values));
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  // ---- how documents, sections and works are named ----------------------------------------

  function shortTitle(title) {
    const words = (title || "").split(/\s+/).filter(Boolean);
    if (!words.length) return "Review";
    return words.slice(0, 6).join(" ") + (words.length > 6 ? " …" : "");
  }

  // "Yee 2018" (the document's authors and year), else its key or the first words of its title.
  function documentLabel(docId, title) {
    const doc = documents.get(docId);
    return doc && doc.label ? doc.label : shortTitle(title);
  }

  function innermost(section) {
    const parts = (section || "").split(" > ");
    return parts[parts.length - 1];
  }

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

  function linkLine(work) {
    const line = el("span", "work-links");
    linksFor(work).forEach(([label, url]) => {
      const anchor = el("a", "", label);
      anchor.href = url;
      anchor.target = "_blank";
      anchor.rel = "noopener noreferrer";
      line.appendChild(anchor);
    });
    return line;
  }

  // The citations of an answer grouped by passage, in the order first cited: one source card each.
  function byPassage(citations) {
    const groups = new Map();
    citations.forEach((citation) => {
      if (!groups.has(citation.passage_id)) groups.set(citation.passage_id, []);
      groups.get(citation.passage_id).push(citation);
    });
    return Array.from(groups.values());
  }

  function attributedKeys(citations) {
    return unique(citations.flatMap((c) => c.cited_works.map((work) => work.key)));
  }

  // A card is named by the works its claims are attributed to, else by the source paper it quotes, else
  // by the document ("Yee 2018").
  function cardTitle(group) {
    const keys = attributedKeys(group);
    const first = group[0];
    if (keys.length) return { text: keys[0] + (keys.length > 1 ? " +" + (keys.length - 1) : ""), full: keys.join("; ") };
    const name = first.work_key || documentLabel(first.document, first.title);
    return { text: name, full: name };
  }

  // ---- the passage drawer ------------------------------------------------------------------

  function renderPassageText(text, quotes) {
    elements.panelText.replaceChildren();
    const spans = [];
    unique(quotes.filter(Boolean)).forEach((quote) => {
      const at = text.indexOf(quote);
      if (at >= 0) spans.push([at, at + quote.length]);
    });
    spans.sort((a, b) => a[0] - b[0]);
    let last = 0;
    spans.forEach(([start, end]) => {
      if (start < last) return; // overlapping quotes: the first one is marked
      elements.panelText.appendChild(document.createTextNode(text.slice(last, start)));
      const mark = el("mark", "quote", text.slice(start, end));
      if (!elements.panelText.querySelector("mark")) mark.id = "highlighted-quote";
      elements.panelText.appendChild(mark);
      last = end;
    });
    elements.panelText.appendChild(document.createTextNode(text.slice(last)));
  }

  function setNeighbour(node, passageId) {
    node.hidden = !passageId;
    node.onclick = passageId ? () => openPassage(passageId, [], node) : null;
  }

  function kindLabel(kind, workKey) {
    if (kind !== "source") return "review";
    return workKey ? "source paper: " + workKey : "source paper (no bibliography key)";
  }

  function workItem(work, details, showSupport) {
    const item = el("li", "cited-work");
    const head = el("p", "work-head");
    head.appendChild(el("strong", "work-key", work.key));
    const title = work.title || (details && details.title);
    if (title) head.appendChild(el("span", "work-title", " — " + title));
    item.appendChild(head);
    const links = linkLine(Object.assign({}, details || {}, work));
    if (links.childNodes.length) item.appendChild(links);
    if (showSupport) item.appendChild(supportBlock(work));
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
      openPassage(support.passage_id, [], event.currentTarget, support.quote);
    }));
    details.appendChild(footer);
    return details;
  }

  function renderPanel(detail, citations, highlight) {
    const doc = detail.document_info;
    const markers = citations.map((c) => c.marker);
    const label = doc.label && doc.label !== doc.title ? doc.label + " — " : "";
    elements.panelTitle.textContent = (markers.length ? "[" + markers.join(", ") + "] " : "") + label + doc.title;
    const meta = [detail.section || "(no section)"];
    if (detail.page !== null && detail.page !== undefined) meta.push("page " + detail.page);
    meta.push(kindLabel(doc.kind, detail.work_key));
    meta.push(detail.passage_id);
    elements.panelMeta.textContent = meta.join(" · ");
    renderPassageText(detail.text, citations.length ? citations.map((c) => c.quote) : [highlight]);
    setNeighbour(elements.previous, detail.neighbours.previous);
    setNeighbour(elements.next, detail.neighbours.next);

    const byKey = new Map(detail.cited_works.map((work) => [work.key, work]));
    const attributed = new Map();
    citations.forEach((c) => c.cited_works.forEach((work) => attributed.set(work.key, work)));
    const works = citations.length ? Array.from(attributed.values()) : detail.cited_works;
    elements.citedWorks.replaceChildren();
    elements.citedHeading.textContent = citations.length ? "Attributed to" : "Cited in this passage";
    if (!works.length) {
      const none = citations.length ? "The review states this without citing a work." : "No cited work in this passage.";
      elements.citedWorks.appendChild(el("li", "hint", none));
    }
    works.forEach((work) => {
      elements.citedWorks.appendChild(workItem(work, byKey.get(work.key), citations.length > 0));
    });
  }

  // `citations`: the answer's citations of this passage, whose quotes are marked; `highlight`: a quote to
  // mark when there are none (the supporting sentence of a source paper).
  async function openPassage(passageId, citations, opener, highlight) {
    lastOpener = opener || null;
    setStatus("Loading passage…");
    try {
      const detail = await fetchJson(passageUrl(passageId));
      renderPanel(detail, citations, highlight || null);
      elements.panel.hidden = false;
      elements.panel.scrollTop = 0;
      // The drawer lies over the page: focusing it must not scroll the conversation.
      elements.panelTitle.focus({ preventScroll: true });
      setStatus("");
    } catch (err) {
      setStatus("Could not load the passage: " + err.message);
    }
  }

  function closePanel() {
    elements.panel.hidden = true;
    if (lastOpener && document.body.contains(lastOpener)) lastOpener.focus({ preventScroll: true });
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
      const marker = button("marker", String(citation.marker), (event) => {
        openPassage(citation.passage_id, [citation], event.currentTarget);
      });
      marker.setAttribute("aria-label", "Source " + citation.marker + ": " + documentLabel(citation.document, citation.title) +
        ", " + innermost(citation.section));
      marker.dataset.marker = String(citation.marker);
      paragraph.appendChild(marker);
      last = match.index + match[0].length;
    }
    paragraph.appendChild(document.createTextNode(text.slice(last)));
    return paragraph;
  }

  function sourceCard(group) {
    const first = group[0];
    const title = cardTitle(group);
    const item = el("li", "source-card");
    item.dataset.passageId = first.passage_id;
    const open = button("source-link", null, (event) => openPassage(first.passage_id, group, event.currentTarget));
    open.appendChild(el("span", "card-markers", group.map((c) => c.marker).join(" · ")));
    const name = el("span", "card-title", title.text);
    name.title = title.full;
    open.appendChild(name);
    const attributed = attributedKeys(group).length > 0 || first.document_kind === "source";
    if (attributed) open.appendChild(el("span", "card-doc", "in " + documentLabel(first.document, first.title)));
    const where = el("span", "card-where");
    const section = el("span", "card-section", innermost(first.section) || "(no section)");
    section.title = first.section;
    where.appendChild(section);
    if (first.page !== null && first.page !== undefined) where.appendChild(el("span", "card-page", "p. " + first.page));
    open.appendChild(where);
    open.setAttribute("aria-label", "Source " + group.map((c) => c.marker).join(" and ") + ": " + title.full +
      ", " + (first.section || "no section") + (first.page != null ? ", page " + first.page : ""));
    item.appendChild(open);
    const kind = first.document_kind === "source" ? "source" : "review";
    item.appendChild(el("span", "kind-tag kind-" + kind, kind === "source" ? "source paper" : "review"));
    return item;
  }

  function sourceCards(citations) {
    const list = el("ol", "sources");
    list.setAttribute("aria-label", "Sources");
    byPassage(citations).forEach((group) => list.appendChild(sourceCard(group)));
    return list;
  }

  // The works the answer's claims are attributed to, and the source papers it quotes, with their links.
  function answerWorks(citations) {
    const works = new Map();
    citations.forEach((citation) => {
      citation.cited_works.forEach((work) => { if (!works.has(work.key)) works.set(work.key, work); });
      if (citation.work_key && !works.has(citation.work_key)) {
        works.set(citation.work_key, { key: citation.work_key, title: citation.title });
      }
    });
    return Array.from(works.values());
  }

  function citedWorksBlock(citations) {
    const works = answerWorks(citations);
    if (!works.length) return null;
    const block = el("div", "answer-works");
    block.appendChild(el("h3", "answer-works-title", "Cited works"));
    const list = el("ul", "answer-work-list");
    works.forEach((work) => {
      const item = el("li", "answer-work");
      item.appendChild(el("strong", "work-key", work.key));
      if (work.title) item.appendChild(el("span", "work-title", " — " + work.title));
      const links = linkLine(work);
      if (links.childNodes.length) item.appendChild(links);
      list.appendChild(item);
    });
    block.appendChild(list);
    return block;
  }

  function confidenceBadge(confidence) {
    const strong = confidence >= STRONG_EVIDENCE;
    const badge = el("span", "confidence " + (strong ? "confidence-strong" : "confidence-partial"),
      strong ? "Strong evidence" : "Partial evidence");
    badge.title = "Confidence " + confidence.toFixed(2) + ". " + CONFIDENCE_TIP;
    badge.tabIndex = 0; // the explanation is reachable by keyboard too
    badge.setAttribute("aria-label", badge.textContent + ", confidence " + confidence.toFixed(2) + " of 1");
    return badge;
  }

  function verdictLead(data) {
    if (typeof data.verdict !== "string" || !data.verdict) return null;
    const word = VERDICTS[data.verdict.toLowerCase()] || data.verdict.replace(/_/g, " ");
    return el("p", "verdict verdict-" + data.verdict.toLowerCase().replace(/[^a-z]/g, ""), word);
  }

  // The answer as plain text with its sources, for pasting into notes or a manuscript.
  function answerAsText(question, data) {
    const lines = ["Q: " + question, "", data.answer];
    if (data.citations.length) {
      lines.push("", "Sources:");
      data.citations.forEach((c) => {
        const where = [documentLabel(c.document, c.title), c.section];
        if (c.page !== null && c.page !== undefined) where.push("p. " + c.page);
        const works = c.cited_works.map((w) => w.key);
        lines.push("[" + c.marker + "] " + where.filter(Boolean).join(", ") +
          (works.length ? " (citing " + works.join("; ") + ")" : "") + ": \u201c" + c.quote + "\u201d");
      });
    }
    const works = answerWorks(data.citations);
    if (works.length) {
      lines.push("", "Cited works:");
      works.forEach((w) => {
        const links = linksFor(w).map((link) => link[1]);
        lines.push("- " + w.key + (w.title ? ". " + w.title : "") + (links.length ? " " + links.join(" ") : ""));
      });
    }
    return lines.join("\n");
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (err) {
        // fall through: a browser may refuse the asynchronous clipboard
      }
    }
    const scratch = el("textarea", "visually-hidden", text);
    document.body.appendChild(scratch);
    scratch.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } finally {
      scratch.remove();
    }
    return copied;
  }

  function copyButton(question, data) {
    const copy = button("secondary small copy-answer", "Copy", async (event) => {
      const target = event.currentTarget;
      const copied = await copyText(answerAsText(question, data));
      target.textContent = copied ? "Copied" : "Copy failed";
      setStatus(copied ? "Answer copied with its sources." : "The browser did not allow copying.");
      setTimeout(() => { target.textContent = "Copy"; }, 2000);
    });
    copy.setAttribute("aria-label", "Copy the answer with its sources");
    return copy;
  }

  function closestPassages(passages) {
    const wrapper = el("div", "closest");
    wrapper.appendChild(el("p", "meta", "Closest passages:"));
    const list = el("ol", "closest-list");
    passages.forEach((passage) => {
      const item = el("li");
      const snippet = passage.text.length > 160 ? passage.text.slice(0, 157) + "…" : passage.text;
      item.appendChild(button("source-link closest-passage", innermost(passage.section || passage.document) + ": " + snippet,
        (event) => openPassage(passage.passage_id, [], event.currentTarget)));
      list.appendChild(item);
    });
    wrapper.appendChild(list);
    return wrapper;
  }

  function renderAnswer(container, question, data) {
    container.replaceChildren();
    if (data.abstained) {
      container.classList.add("abstained");
      container.appendChild(el("p", "abstention", "No answer in the documents"));
      container.appendChild(el("p", "answer-text", data.answer || "The documents do not answer this question."));
      if (data.passages.length) container.appendChild(closestPassages(data.passages));
      return;
    }
    if (data.citations.length) container.appendChild(sourceCards(data.citations));
    const lead = verdictLead(data);
    if (lead) container.appendChild(lead);
    container.appendChild(textWithMarkers(data.answer, data.citations));
    const meta = el("div", "answer-meta");
    meta.appendChild(confidenceBadge(data.confidence));
    meta.appendChild(copyButton(question, data));
    container.appendChild(meta);
    const works = citedWorksBlock(data.citations);
    if (works) container.appendChild(works);
  }

  function addTurn(question) {
    const turn = el("li", "turn");
    turn.appendChild(el("p", "question", question));
    const answerBox = el("div", "answer pending", "Searching the documents…");
    turn.appendChild(answerBox);
    elements.conversation.appendChild(turn);
    showWelcome(false);
    return answerBox;
  }

  async function ask(question) {
    const answerBox = addTurn(question);
    const turn = answerBox.parentElement;
    reveal(turn);
    const askedIn = conversationId;
    const history = turns.slice(-HISTORY_TURNS_SENT).map((t) => ({ question: t.question, answer: t.data.answer }));
    try {
      const data = await fetchJson("/api/v1/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ question: question, history: history },
          collection ? { collection: collection } : {})),
      });
      if (askedIn !== conversationId) return; // the conversation was cleared meanwhile
      answerBox.classList.remove("pending");
      renderAnswer(answerBox, question, data);
      turns.push({ question: question, data: data });
      saveConversation();
      updateExport();
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
    const room = elements.composer.getBoundingClientRect().top - SCROLL_GAP_PX;
    const rect = turn.getBoundingClientRect();
    let delta = Math.max(0, rect.bottom - room);
    if (rect.top - delta < SCROLL_GAP_PX) delta = rect.top - SCROLL_GAP_PX;
    if (delta !== 0) window.scrollBy(0, delta);
  }

  async function submitQuestion(question) {
    if (pendingIn === conversationId) {
      setStatus(WAITING); // the typed question stays in the box
      return;
    }
    question = question.trim();
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
        elements.question.focus({ preventScroll: true });
      }
    }
  }

  // ---- the conversation kept across reloads -------------------------------------------------

  // Each collection keeps its own conversation (the default one under the key it always had).
  function conversationKey() {
    return !collection || collection === defaultCollection ? STORAGE_KEY : STORAGE_KEY + ":" + collection;
  }

  function saveConversation() {
    try {
      localStorage.setItem(conversationKey(), JSON.stringify({ turns: turns.slice(-STORED_TURNS) }));
    } catch (err) {
      // storage full or disabled (private browsing): the conversation still works, it is just not kept
    }
  }

  function loadConversation() {
    try {
      const stored = JSON.parse(localStorage.getItem(conversationKey()) || "null");
      if (!stored || !Array.isArray(stored.turns)) return [];
      return stored.turns.filter((t) => t && typeof t.question === "string" && t.data &&
        typeof t.data.answer === "string" && Array.isArray(t.data.citations) && Array.isArray(t.data.passages));
    } catch (err) {
      return [];
    }
  }

  function restoreConversation() {
    const stored = loadConversation();
    // A question asked before this ran (the documents took long) starts a new conversation instead.
    if (elements.conversation.children.length || !stored.length) return;
    turns = stored;
    turns.forEach((t) => {
      const answerBox = addTurn(t.question);
      answerBox.classList.remove("pending");
      try {
        renderAnswer(answerBox, t.question, t.data);
      } catch (err) {
        answerBox.textContent = "This answer could not be shown again; ask the question anew.";
      }
    });
    updateExport();
    if (turns.length) window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function newConversation() {
    conversationId += 1;
    turns = [];
    saveConversation();
    elements.askButton.disabled = false;
    elements.conversation.replaceChildren();
    showWelcome(true);
    updateExport();
    elements.panel.hidden = true;
    setStatus("");
    elements.question.focus();
  }

  function showWelcome(show) {
    elements.welcome.hidden = !show;
  }

  // ---- export of the conversation's cited works ----------------------------------------------

  function exportFields() {
    const citations = turns.flatMap((t) => t.data.citations || []);
    return [
      ...unique(citations.flatMap((c) => c.cited_works.map((w) => w.key))).map((key) => ["key", key]),
      ...unique(citations.map((c) => c.document)).map((docId) => ["doc_id", docId]),
    ];
  }

  function updateExport() {
    const fields = exportFields();
    elements.tools.hidden = fields.length === 0;
    Object.entries(elements.exportLinks).forEach(([format, link]) => {
      const query = new URLSearchParams([...fields, ["format", format]]);
      link.href = inCollection("/api/v1/cited-works?" + query.toString());
    });
  }

  // The download is posted: a long conversation's works do not fit in a URL (the link stays for copying).
  function downloadExport(event, format) {
    event.preventDefault();
    const form = document.createElement("form");
    form.method = "post";
    form.action = inCollection("/api/v1/cited-works");
    form.hidden = true;
    [...exportFields(), ["format", format]].forEach(([name, value]) => {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
    form.remove();
  }

  // ---- the corpus: documents and example questions -------------------------------------------

  async function loadDocuments() {
    try {
      const body = await fetchJson(inCollection("/api/v1/documents"));
      documents.clear();
      body.documents.forEach((doc) => documents.set(doc.doc_id, doc));
      renderDocuments(body.documents);
    } catch (err) {
      elements.corpusSummary.textContent = "The documents could not be listed: " + err.message;
    }
  }

  function renderDocuments(docs) {
    const passages = docs.reduce((sum, doc) => sum + doc.passage_count, 0);
    elements.documentCount.textContent = "(" + docs.length + ")";
    elements.corpusSummary.textContent = "Searching " + plural(docs.length, "document") + ", " +
      plural(passages, "passage") + ".";
    elements.documentList.replaceChildren();
    docs.forEach((doc) => {
      const item = el("li", "document");
      item.appendChild(el("strong", "document-label", doc.label));
      if (doc.title && doc.title !== doc.label) item.appendChild(el("span", "document-title", " — " + doc.title));
      item.appendChild(el("span", "meta document-meta",
        " · " + (doc.kind === "source" ? "source paper" : "review") + " · " + plural(doc.passage_count, "passage")));
      elements.documentList.appendChild(item);
    });
  }

  async function loadExamples() {
    try {
      const body = await fetchJson(inCollection("/api/v1/examples"));
      elements.examples.replaceChildren();
      body.questions.forEach((example) => {
        const item = el("li");
        const choose = button("example", example.question, () => submitQuestion(example.question));
        if (example.section) choose.title = "From the section " + example.section;
        item.appendChild(choose);
        elements.examples.appendChild(item);
      });
      elements.examplesTitle.hidden = body.questions.length === 0;
    } catch (err) {
      elements.examplesTitle.hidden = true; // no examples while the index is not ready: nothing to try
    }
  }

  // ---- collections ------------------------------------------------------------------------

  async function loadCollections() {
    let body;
    try {
      body = await fetchJson("/api/v1/collections");
    } catch (err) {
      return; // a service without collections: the default one is asked, as before
    }
    defaultCollection = body.default;
    uploadPolicy = body.uploads;
    const wanted = new URLSearchParams(window.location.search).get("collection") || storedCollection();
    const names = body.collections.map((c) => c.name);
    collection = names.includes(wanted) ? wanted : body.default;
    renderCollections(body.collections);
    renderUploadForm();
    const active = body.collections.find((c) => c.name === collection && c.job &&
      c.job.stage !== "done" && c.job.stage !== "failed");
    if (active) followJob(active.name, active.job); // an upload still being indexed (e.g. after a reload)
  }

  function storedCollection() {
    try {
      return localStorage.getItem(COLLECTION_KEY);
    } catch (err) {
      return null;
    }
  }

  function renderCollections(list) {
    elements.collectionSelect.replaceChildren();
    list.forEach((c) => {
      const option = el("option", "", c.title + (c.state === "ready" ? " (" + plural(c.passages, "passage") + ")" :
        c.state === "empty" ? " (empty)" : " (not indexed)"));
      option.value = c.name;
      option.selected = c.name === collection;
      elements.collectionSelect.appendChild(option);
    });
    elements.collectionPicker.hidden = list.length < 2; // a choice only when there is one to make
  }

  async function refreshCollections() {
    try {
      const body = await fetchJson("/api/v1/collections");
      renderCollections(body.collections);
    } catch (err) {
      // the list stays as it was
    }
  }

  async function chooseCollection(name) {
    if (name === collection) return;
    collection = name;
    try {
      localStorage.setItem(COLLECTION_KEY, name);
    } catch (err) {
      // not kept across reloads
    }
    conversationId += 1; // an answer still coming belongs to the other collection's conversation
    pendingIn = null;
    elements.askButton.disabled = false;
    elements.conversation.replaceChildren();
    elements.panel.hidden = true;
    turns = [];
    elements.uploadCollection.value = name;
    await loadDocuments();
    restoreConversation();
    showWelcome(!elements.conversation.children.length);
    updateExport();
    loadExamples();
    setStatus("Asking the collection " + elements.collectionSelect.selectedOptions[0].textContent + ".");
  }

  // ---- adding documents ----------------------------------------------------------------------

  function renderUploadForm() {
    const allowed = Boolean(uploadPolicy && uploadPolicy.allowed);
    elements.uploadForm.hidden = !allowed;
    if (!allowed) return;
    elements.uploadCollection.value = collection;
    elements.uploadTokenRow.hidden = !uploadPolicy.token_required;
    try {
      elements.uploadToken.value = sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (err) {
      elements.uploadToken.value = "";
    }
    const limit = Math.floor(uploadPolicy.max_bytes / (1024 * 1024));
    elements.uploadHelp.textContent = "Up to " + limit + " MB. It is read and indexed in the background; " +
      "you can go on asking meanwhile.";
  }

  function showJob(fraction, text, failed) {
    elements.jobBox.hidden = false;
    elements.jobBox.classList.toggle("job-failed", Boolean(failed));
    elements.jobProgress.value = Math.max(0, Math.min(1, fraction));
    elements.jobStatus.textContent = text;
  }

  function jobFraction(job) {
    const span = JOB_STAGES[job.stage] || [0, 0];
    const share = job.total > 0 ? job.done / job.total : 0;
    return span[0] + (span[1] - span[0]) * share;
  }

  function jobText(job) {
    const count = job.total > 0 ? " (" + job.done.toLocaleString() + " of " + job.total.toLocaleString() +
      (job.unit ? " " + job.unit : "") + ")" : "";
    const what = { queued: "Waiting to start", reading: "Reading the document", ingesting: "Reading the collection",
      embedding: "Embedding the new passages", swapping: "Putting the new index in service" }[job.stage];
    return job.document + ": " + (what ? what + count : job.message);
  }

  // Sends the file with XMLHttpRequest, whose upload events tell how much of it has gone.
  function sendFile(url, form, token, onSent) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", url);
      if (token) request.setRequestHeader("Authorization", "Bearer " + token);
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onSent(event.loaded / event.total);
      });
      request.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(request.responseText);
        } catch (err) {
          body = null;
        }
        if (request.status === 202 && body) resolve({ job: body, location: request.getResponseHeader("Location") });
        else reject(new Error(body && body.error ? body.error.message : "HTTP " + request.status));
      });
      request.addEventListener("error", () => reject(new Error("the upload was interrupted")));
      request.send(form);
    });
  }

  async function uploadDocument(event) {
    event.preventDefault();
    const file = elements.uploadFile.files[0];
    const target = elements.uploadCollection.value.trim();
    if (!file) return;
    if (!COLLECTION_NAME.test(target)) {
      setStatus("A collection name is 1 to 64 lowercase letters, digits, - or _.");
      return;
    }
    if (file.size > uploadPolicy.max_bytes) {
      setStatus(file.name + " is larger than the " + Math.floor(uploadPolicy.max_bytes / 1048576) + " MB allowed.");
      return;
    }
    const token = uploadPolicy.token_required ? elements.uploadToken.value.trim() : "";
    if (token) {
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch (err) {
        // asked again next time
      }
    }
    const form = new FormData();
    form.append("file", file);
    elements.uploadButton.disabled = true;
    showJob(0, "Sending " + file.name + "…");
    try {
      const sent = await sendFile("/api/v1/collections/" + encodeURIComponent(target) + "/documents", form, token,
        (share) => showJob(JOB_STAGES.sending[1] * share, "Sending " + file.name + "…"));
      elements.uploadForm.reset();
      elements.uploadCollection.value = collection;
      elements.uploadToken.value = token;
      document.getElementById("documents-menu").open = false;
      await followJob(target, sent.job);
    } catch (err) {
      showJob(1, "Could not add " + file.name + ": " + err.message, true);
    } finally {
      elements.uploadButton.disabled = false;
    }
  }

  function pause(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Follows a job to its end on the progress bar; when done, waits (a while) until the worker answering
  // serves the new build, then shows the collection's new documents.
  async function followJob(target, job) {
    const url = "/api/v1/collections/" + encodeURIComponent(target) + "/jobs/" + encodeURIComponent(job.id);
    let waitedForBuild = 0;
    for (;;) {
      if (job.stage === "failed") {
        showJob(1, "Could not add " + job.document + ": " + job.message, true);
        return;
      }
      if (job.stage === "done" && (job.served || waitedForBuild >= SERVED_WAIT_MS)) break;
      if (job.stage === "done") {
        waitedForBuild += JOB_POLL_MS;
        showJob(0.98, job.document + ": loading the new index…");
      } else {
        showJob(jobFraction(job), jobText(job));
      }
      await pause(JOB_POLL_MS);
      try {
        job = await fetchJson(url);
      } catch (err) {
        showJob(1, "Lost track of " + job.document + ": " + err.message, true);
        return;
      }
    }
    showJob(1, job.message.charAt(0).toUpperCase() + job.message.slice(1) + ".");
    const shown = elements.jobStatus.textContent;
    setTimeout(() => { if (elements.jobStatus.textContent === shown) elements.jobBox.hidden = true; }, JOB_SHOWN_MS);
    await refreshCollections();
    if (target !== collection) {
      elements.collectionSelect.value = target;
      await chooseCollection(target);
    } else {
      await loadDocuments();
      loadExamples();
    }
  }

  // ---- wiring ------------------------------------------------------------------------------

  elements.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitQuestion(elements.question.value);
  });
  elements.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      elements.form.requestSubmit();
    }
  });
  elements.newConversation.addEventListener("click", newConversation);
  Object.entries(elements.exportLinks).forEach(([format, link]) => {
    link.addEventListener("click", (event) => downloadExport(event, format));
  });
  elements.closePanel.addEventListener("click", closePanel);
  elements.collectionSelect.addEventListener("change", () => chooseCollection(elements.collectionSelect.value));
  elements.uploadForm.addEventListener("submit", uploadDocument);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !elements.panel.hidden) closePanel();
  });

  // The collection first (the page may name one: /?collection=papers); the kept conversation is drawn once
  // the documents are known, for their labels ("Yee 2018").
  loadCollections().then(() => {
    loadDocuments().then(() => {
      restoreConversation();
      if (!elements.conversation.children.length) showWelcome(true);
    });
    loadExamples();
  });
  elements.question.focus({ preventScroll: true });
})();
