# reviewqa: `make run` serves the review, `make test` runs lint and the test suite.
# Both create .venv and install what is missing first.

PYTHON ?= python3
VENV ?= .venv
# torch is pinned and installed before everything else: this exact version is a local CPU wheel here,
# any other requirement pulls a multi-gigabyte CUDA build. Override for other machines.
TORCH_SPEC ?= torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8000

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run index test lint format bench clean browser screenshots

# pip's own progress is shown (a first install takes minutes); each step says what it is about to do.
PIP_INSTALL := $(BIN)/pip install --progress-bar on --disable-pip-version-check

$(BIN)/python:
	@echo "==> [1/4] creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/4] upgrading pip"
	$(PIP_INSTALL) --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> [3/4] installing $(TORCH_SPEC) (CPU) first, so nothing pulls a CUDA build"
	$(PIP_INSTALL) "$(TORCH_SPEC)"
	@echo "==> [4/4] installing reviewqa and its dependencies (sentence-transformers, faiss, flask, ...)"
	$(PIP_INSTALL) -e ".[dev]"
	touch $(STAMP)
	@echo "==> installed. make run serves the corpus; $(BIN)/reviewqa --help lists the commands"

install: $(STAMP)

# Ingests the corpus if it changed (printing what it read) and builds the index if it is not current.
index: install
	$(BIN)/reviewqa index

run: index
	$(BIN)/reviewqa serve --host $(HOST) --port $(PORT)

# The README's two screenshots (docs/chat-desktop.png, docs/chat-phone.png), taken by the browser test.
screenshots: install browser
	REVIEWQA_SCREENSHOTS_DIR=docs $(BIN)/pytest -q tests/test_browser.py -k test_screenshots

# Browser tests need Debian's chromium and chromedriver; install them when we can (root, apt).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "chromium/chromedriver missing: browser tests will be skipped"; fi; \
	fi

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: install browser lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) index/current index/builds index/ingested index/.building-* index/.retired-* \
		index/passages.jsonl index/documents.json index/cited_works.json index/clean index/ingest.json
