"""Metric functions of the evaluation: pure, small, and tested on hand-made examples.

Text comparisons work on a normal form (case folded, typographic quotes and dashes made plain, whitespace
collapsed) so that an evidence phrase written from the review matches the cleaned passage text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_TYPOGRAPHIC = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[.\-/+][a-z0-9]+)*%?")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_ARTICLES = frozenset({"a", "an", "the"})
NUMBER_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"}
)
# International non-proprietary name stems: lower-case drug names are named entities too.
DRUG_STEMS = (
    "mab", "nib", "clib", "zole", "stane", "strant", "ifen", "formin", "taxel", "rubicin", "phamide", "somant"
)  # fmt: skip
# Minimum run of shared tokens for a quote and an evidence phrase to count as overlapping.
OVERLAP_TOKENS = 5


def normalize(text: str) -> str:
    """Case-folded text with plain quotes and dashes and single spaces."""
    return " ".join(text.translate(_TYPOGRAPHIC).casefold().split())


def tokens(text: str) -> list[str]:
    """Word tokens of the normal form; keeps "5.7%", "igf1r", "bms-754807" and "cdk4/6" whole."""
    return _TOKEN_RE.findall(normalize(text))


def contains_phrase(text: str, phrase: str) -> bool:
    return normalize(phrase) in normalize(text)


def contains_any(text: str, phrases: Iterable[str]) -> bool:
    normal_text = normalize(text)
    return any(normalize(phrase) in normal_text for phrase in phrases)


# --- answers -------------------------------------------------------------------------------------------


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between an answer and the reference answer (articles ignored)."""
    predicted = [t for t in tokens(prediction) if t not in _ARTICLES]
    expected = [t for t in tokens(reference) if t not in _ARTICLES]
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _is_key_token(raw: str, sentence_initial: bool) -> bool:
    lowered = raw.lower()
    if any(ch.isdigit() for ch in raw) or lowered in NUMBER_WORDS:
        return True
    if any(ch.isupper() for ch in raw[1:]):  # IGF1R, INSR-A, qPCR, BID
        return True
    if raw[0].isupper() and not sentence_initial:  # Pollak, Arteaga, Beatson
        return True
    return lowered.endswith(DRUG_STEMS)


def key_terms(reference: str) -> list[str]:
    """Numbers and named entities of a reference answer, in normal form, without duplicates.

    Named entities are tokens with a digit or an inner capital (IGF1R, RT-qPCR), capitalised words that do
    not start a sentence, and drug names recognised by their stem (ganitumab, letrozole). Numbers inside
    tokens ("5.7%", "0.32–1.1") are also taken on their own so an answer may write them differently.
    """
    text = reference.translate(_TYPOGRAPHIC)
    found: list[str] = []
    sentence_initial = True
    for match in re.finditer(r"[A-Za-z0-9]+(?:[.\-/+][A-Za-z0-9]+)*%?|[.!?;:]", text):
        raw = match.group()
        if raw in ".!?;:":
            sentence_initial = True
            continue
        if _is_key_token(raw, sentence_initial):
            numbers = _NUMBER_RE.findall(raw)
            is_plain_number = bool(numbers) and re.fullmatch(r"[\d.\-%]+", raw) is not None
            found.extend(numbers if is_plain_number else [raw.lower()])
        sentence_initial = False
    return list(dict.fromkeys(found))


def missing_key_terms(prediction: str, reference: str) -> list[str]:
    """The reference's key terms that the prediction lacks (numbers compared by value)."""
    predicted_tokens = set(tokens(prediction))
    predicted_numbers = set(_NUMBER_RE.findall(normalize(prediction)))
    predicted_parts = {part for token in predicted_tokens for part in re.split(r"[\-/]", token)}
    missing = []
    for term in key_terms(reference):
        if _NUMBER_RE.fullmatch(term):
            present = _same_number(term, predicted_numbers)
        else:
            present = term in predicted_tokens or term in predicted_parts
        if not present:
            missing.append(term)
    return missing


def key_term_recall(prediction: str, reference: str) -> float | None:
    """Share of the reference's key terms present in the prediction; None when the reference has none."""
    expected = key_terms(reference)
    if not expected:
        return None
    return 1.0 - len(missing_key_terms(prediction, reference)) / len(expected)


def _same_number(term: str, candidates: set[str]) -> bool:
    value = float(term)
    return any(math.isclose(value, float(c)) for c in candidates)


# --- retrieval -----------------------------------------------------------------------------------------


def relevance(passage_texts: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    """Whether each passage contains an evidence phrase."""
    return [contains_any(text, evidence) for text in passage_texts]


def hit_at_k(relevant: Sequence[bool], k: int) -> bool:
    return any(relevant[:k])


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    for rank, is_relevant in enumerate(relevant, start=1):
        if is_relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], total_relevant: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k; ``total_relevant`` is the number of relevant passages in the whole index."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevant[:k], start=1) if rel)
    ideal_count = min(total_relevant, k)
    if ideal_count == 0:
        return 0.0
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, ideal_count + 1))
    return dcg / ideal


# --- citations -----------------------------------------------------------------------------------------


def _ngrams(items: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(items[i : i + n]) for i in range(len(items) - n + 1)}


def quote_supports(quote: str, phrase: str) -> bool:
    """A cited quote supports an evidence phrase when one contains the other or they share a token run.

    The run is ``OVERLAP_TOKENS`` long (or the whole phrase when shorter), so a quote that covers part of a
    phrase split across two sentences still counts.
    """
    normal_quote, normal_phrase = normalize(quote), normalize(phrase)
    if not normal_quote or not normal_phrase:
        return False
    if normal_phrase in normal_quote or normal_quote in normal_phrase:
        return True
    quote_tokens, phrase_tokens = tokens(quote), tokens(phrase)
    n = min(OVERLAP_TOKENS, len(phrase_tokens))
    return n > 0 and bool(_ngrams(quote_tokens, n) & _ngrams(phrase_tokens, n))


def supported_quotes(quotes: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    return [any(quote_supports(quote, phrase) for phrase in evidence) for quote in quotes]


def citation_precision(quotes: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of cited quotes that contain or overlap an evidence phrase; None without quotes."""
    if not quotes:
        return None
    supported = supported_quotes(quotes, evidence)
    return sum(supported) / len(supported)


def evidence_coverage(quotes: Sequence[str], evidence: Sequence[str]) -> float:
    """Share of evidence phrases that some cited quote covers."""
    if not evidence:
        return 0.0
    covered = [any(quote_supports(quote, phrase) for quote in quotes) for phrase in evidence]
    return sum(covered) / len(covered)


def cited_work_recall(expected: Sequence[str], cited: Iterable[str]) -> float | None:
    """Share of the expected cited works among the answer's cited works; None when none are expected."""
    if not expected:
        return None
    got = {normalize(key) for key in cited}
    return sum(normalize(key) in got for key in expected) / len(expected)


def cited_work_precision(expected: Sequence[str], cited: Sequence[str]) -> float | None:
    """Share of the answer's cited works that are expected: low when claims go to the wrong work.
    None when no work is expected or none is cited (recall covers that)."""
    if not expected or not cited:
        return None
    wanted = {normalize(key) for key in expected}
    return sum(normalize(key) in wanted for key in cited) / len(cited)


# --- abstention ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbstentionScores:
    precision: float | None  # of abstentions, the share on out-of-scope questions
    recall: float | None  # of out-of-scope questions, the share abstained on
    false_abstention_rate: float | None  # of answerable questions, the share abstained on
    f1: float | None
    balanced_accuracy: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "false_abstention_rate": self.false_abstention_rate,
            "f1": self.f1,
            "balanced_accuracy": self.balanced_accuracy,
        }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> AbstentionScores:
    """Abstention judged as detecting out-of-scope questions (the positive class)."""
    pairs = list(zip(abstained, answerable, strict=True))
    true_pos = sum(a and not ok for a, ok in pairs)
    false_pos = sum(a and ok for a, ok in pairs)
    out_of_scope = sum(not ok for _, ok in pairs)
    in_scope = sum(ok for _, ok in pairs)
    precision = _ratio(true_pos, true_pos + false_pos)
    recall = _ratio(true_pos, out_of_scope)
    false_rate = _ratio(false_pos, in_scope)
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    balanced = None
    if recall is not None and false_rate is not None:
        balanced = (recall + 1.0 - false_rate) / 2
    return AbstentionScores(precision, recall, false_rate, f1, balanced)


def threshold_grid(step: float = 0.025) -> list[float]:
    count = round(1.0 / step)
    return [round(i * step, 6) for i in range(count + 1)]


def sweep_thresholds(
    confidences: Sequence[float],
    other_abstentions: Sequence[bool],
    answerable: Sequence[bool],
    thresholds: Sequence[float],
) -> list[dict[str, float | None]]:
    """Abstention scores if the pipeline abstained below each threshold of ``confidence``.

    ``other_abstentions`` marks answers that abstained for a reason other than the threshold (no citable
    evidence); they stay abstentions at every threshold.
    """
    rows: list[dict[str, float | None]] = []
    for threshold in thresholds:
        abstained = [c < threshold or other for c, other in zip(confidences, other_abstentions, strict=True)]
        rows.append({"threshold": threshold, **abstention_scores(abstained, answerable).to_dict()})
    return rows


def recommend_threshold(sweep: Sequence[dict[str, float | None]]) -> float:
    """The threshold with the best balanced accuracy; among ties, the middle of the longest tied run.

    Balanced accuracy weighs catching out-of-scope questions and answering answerable ones equally, and the
    middle of a plateau is the choice least sensitive to small shifts in confidence.
    """
    if not sweep:
        raise ValueError("empty threshold sweep")
    scores = [row["balanced_accuracy"] if row["balanced_accuracy"] is not None else -1.0 for row in sweep]
    best = max(scores)
    runs: list[list[int]] = []
    for position, score in enumerate(scores):
        if math.isclose(score, best, abs_tol=1e-12):
            if runs and runs[-1][-1] == position - 1:
                runs[-1].append(position)
            else:
                runs.append([position])
    longest = max(runs, key=len)
    return float(sweep[longest[(len(longest) - 1) // 2]]["threshold"])  # type: ignore[arg-type]


# --- latency -------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (q in [0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


# --- calibration ---------------------------------------------------------------------------------------

CALIBRATION_BINS = 10


def answer_right(answer: str, reference: str, evidence: Sequence[str], answerable: bool) -> bool:
    """An answer to a gold question is right when every key term of the reference is in it (or, for a
    reference without key terms, it quotes an evidence phrase); any answer to an out-of-scope one is wrong."""
    if not answerable:
        return False
    recall = key_term_recall(answer, reference)
    if recall is not None:
        return recall == 1.0
    return any(quote_supports(answer, phrase) for phrase in evidence)


def _bins(confidence: Sequence[float], bins: int) -> list[int]:
    return [min(int(c * bins), bins - 1) for c in confidence]


def reliability(
    confidence: Sequence[float], right: Sequence[bool], bins: int = CALIBRATION_BINS
) -> list[dict[str, float | int | None]]:
    """Per equal-width confidence bin: its range, how many answers, their mean confidence, the share right."""
    which = _bins(confidence, bins)
    table: list[dict[str, float | int | None]] = []
    for b in range(bins):
        inside = [i for i, w in enumerate(which) if w == b]
        table.append(
            {
                "low": round(b / bins, 2),
                "high": round((b + 1) / bins, 2),
                "answers": len(inside),
                "confidence": mean(confidence[i] for i in inside),
                "right": mean(float(right[i]) for i in inside),
            }
        )
    return table


def expected_calibration_error(
    confidence: Sequence[float], right: Sequence[bool], bins: int = CALIBRATION_BINS
) -> float | None:
    """Mean |share right - mean confidence| over the bins, weighted by their size."""
    if not confidence:
        return None
    total = len(confidence)
    return sum(
        int(row["answers"]) / total * abs(float(row["right"]) - float(row["confidence"]))  # type: ignore[arg-type]
        for row in reliability(confidence, right, bins)
        if row["answers"]
    )


def calibration_summary(confidence: Sequence[float], right: Sequence[bool]) -> dict[str, Any]:
    """The calibration of answers given, as `reviewqa eval` and `reviewqa bench covidqa` report it: how many,
    the share right, the expected calibration error, the reliability table and how many answers above 0.9
    are wrong."""
    return {
        "answers": len(confidence),
        "right": mean(float(ok) for ok in right),
        "ece": expected_calibration_error(confidence, right),
        "reliability": reliability(confidence, right),
        "wrong_above_0.9": sum(c > 0.9 and not ok for c, ok in zip(confidence, right, strict=True)),
    }
