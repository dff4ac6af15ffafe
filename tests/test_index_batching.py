"""Micro-batching of concurrent query embeddings (QueryBatcher), and the quiet model loader."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from reviewqa.index.embed import Encoder, QueryBatcher, load_model
from reviewqa.settings import Settings

DEADLOCK_GUARD_S = 60  # a thread still running after this is stuck, not slow

QUESTIONS = [
    "Which receptor did early preclinical data implicate in breast cancer growth?",
    "What two classes of drugs were developed to block the IGF1R pathway?",
    "Which IGF1R monoclonal antibodies were tested in breast cancer?",
    "Did IGF1R inhibitors improve outcomes compared with conventional therapy?",
    "What happens to insulin levels when IGF1R is blocked?",
    "Why did the IGF1R trials fail?",
    "Is the insulin receptor isoform A relevant?",
    "What did the ganitumab trial combined with exemestane or fulvestrant find?",
]


def text_vector(text: str) -> np.ndarray:
    """A deterministic stand-in vector per text, so each caller's rows can be checked."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return np.random.default_rng(seed).standard_normal(4).astype(np.float32)


class GatedEncoder:
    """An encoder that records each call and can hold a call until the test releases it; it returns
    ``inner``'s vectors, or stand-ins when there is no inner encoder."""

    def __init__(
        self, fail_on_call: int | None = None, inner: Callable[[list[str]], np.ndarray] | None = None
    ) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail_on_call = fail_on_call

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.entered.set()
        assert self.release.wait(DEADLOCK_GUARD_S)
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise ValueError("the model ran out of patience")
        if self.inner is not None:
            return self.inner(texts)
        return np.stack([text_vector(t) for t in texts])


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLOCK_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting (deadlock?)"
        time.sleep(0.001)


def run_threads(work: Callable[[int], object], count: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(DEADLOCK_GUARD_S)
    assert not any(thread.is_alive() for thread in threads), "a caller never returned (deadlock)"


def hold_first_batch(batcher: QueryBatcher, encoder: GatedEncoder, followers: int, work) -> list:
    """Start one caller whose encode call blocks, queue ``followers`` more behind it, then let all run."""
    encoder.release.clear()
    leader = run_threads(lambda _: work(-1), 1)
    assert encoder.entered.wait(DEADLOCK_GUARD_S)
    threads = run_threads(work, followers)
    wait_until(lambda: batcher.waiting == followers)
    encoder.release.set()
    return leader + threads


def test_a_lone_caller_is_encoded_at_once_with_its_own_rows() -> None:
    encoder = GatedEncoder()
    batcher = QueryBatcher(encoder, max_batch=16)
    vectors = batcher.encode(["alpha", "beta", "gamma"])
    assert encoder.calls == [["alpha", "beta", "gamma"]]
    np.testing.assert_array_equal(vectors, np.stack([text_vector(t) for t in ("alpha", "beta", "gamma")]))
    assert (batcher.batches, batcher.texts_encoded, batcher.waiting) == (1, 3, 0)


def test_callers_arriving_during_an_encode_share_the_next_batch_and_get_their_own_rows() -> None:
    encoder = GatedEncoder()
    batcher = QueryBatcher(encoder, max_batch=16)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = batcher.encode([f"question {i}"])

    join_all(hold_first_batch(batcher, encoder, 6, work))
    assert [len(call) for call in encoder.calls] == [1, 6]  # the six waiting callers: one model call
    assert sorted(encoder.calls[1]) == sorted(f"question {i}" for i in range(6))
    for i, vector in results.items():
        np.testing.assert_array_equal(vector, text_vector(f"question {i}")[None, :])


def test_batches_stay_within_max_batch_and_serve_every_caller() -> None:
    encoder = GatedEncoder()
    batcher = QueryBatcher(encoder, max_batch=3)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = batcher.encode([f"q{i}", f"q{i} again"])  # two texts per caller

    join_all(hold_first_batch(batcher, encoder, 5, work))
    assert all(len(call) <= 3 for call in encoder.calls)
    assert sorted(t for call in encoder.calls for t in call) == sorted(
        t for i in range(-1, 5) for t in (f"q{i}", f"q{i} again")
    )
    for i, vectors in results.items():
        np.testing.assert_array_equal(vectors, np.stack([text_vector(f"q{i}"), text_vector(f"q{i} again")]))


def test_an_encoder_error_reaches_every_waiting_caller_and_the_batcher_recovers() -> None:
    encoder = GatedEncoder(fail_on_call=2)  # the batch of the waiting callers fails
    batcher = QueryBatcher(encoder, max_batch=16)
    outcomes: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            outcomes[i] = batcher.encode([f"question {i}"])
        except ValueError as exc:
            outcomes[i] = exc

    join_all(hold_first_batch(batcher, encoder, 5, work))
    assert isinstance(outcomes[-1], np.ndarray)  # the first batch succeeded
    errors = [outcomes[i] for i in range(5)]
    assert all(isinstance(e, ValueError) and "ran out of patience" in str(e) for e in errors)
    assert len({id(e) for e in errors}) == 5  # each caller raises its own copy
    np.testing.assert_array_equal(batcher.encode(["after"]), text_vector("after")[None, :])


def test_a_lone_caller_hears_of_an_error_too() -> None:
    batcher = QueryBatcher(GatedEncoder(fail_on_call=1))
    with pytest.raises(ValueError, match="ran out of patience"):
        batcher.encode(["anything"])
    assert batcher.waiting == 0


def test_an_encoder_returning_the_wrong_number_of_rows_is_an_error_for_every_caller() -> None:
    batcher = QueryBatcher(lambda texts: np.zeros((len(texts) + 1, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match="2 vectors for 1 texts"):
        batcher.encode(["one"])


@pytest.mark.slow
def test_vectors_encoded_in_a_batch_equal_those_encoded_alone() -> None:
    """The real model: padding a query into a batch must not change its direction."""
    encoder = Encoder(Settings.load().model_path, threads=1)
    alone = {q: encoder.encode([q])[0] for q in QUESTIONS}
    gate = GatedEncoder(inner=encoder.encode)
    batcher = QueryBatcher(gate, max_batch=16)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:  # i = -1: the caller whose batch is held
        results[i] = batcher.encode([QUESTIONS[i]])[0]

    join_all(hold_first_batch(batcher, gate, len(QUESTIONS) - 1, work))
    assert [len(call) for call in gate.calls] == [1, len(QUESTIONS) - 1]
    for i, vector in results.items():
        assert vector.dtype == np.float32
        assert float(vector @ alone[QUESTIONS[i]]) >= 1 - 1e-5


@pytest.mark.slow
def test_concurrent_embed_queries_on_the_index_match_single_encodes(review_index) -> None:
    texts = [f"{q} (batched {n})" for n, q in enumerate(QUESTIONS)]
    start = threading.Barrier(len(texts))
    results: dict[int, np.ndarray] = {}
    calls_before = review_index.query_batcher.batches

    def work(i: int) -> None:
        start.wait(DEADLOCK_GUARD_S)
        results[i] = review_index.embed_queries([texts[i]])

    join_all(run_threads(work, len(texts)))
    batches = review_index.query_batcher.batches - calls_before
    assert 1 <= batches <= len(texts)
    for i, text in enumerate(texts):
        assert results[i].shape == (1, review_index.dimension)
        alone = review_index.encoder.encode([text])[0]
        assert float(results[i][0] @ alone) >= 1 - 1e-5
        assert review_index.query_cache.get(text) is not None  # the LRU still keeps every vector
    assert review_index.embed_queries([]).shape == (0, review_index.dimension)


@pytest.mark.slow
def test_loading_the_model_shows_no_progress_bar_but_keeps_warnings(capfd) -> None:
    from transformers.utils import logging as transformers_logging

    model = load_model(Settings.load().model_path)
    assert model.encode(["a short query"]).shape == (1, 384)
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    assert transformers_logging.get_verbosity() <= logging.WARNING
