"""The gold question set: loading, validation and the deterministic dev/test split."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from reviewqa.errors import ReviewqaError

QUESTION_TYPES = ("factoid", "numeric", "list", "mechanism", "comparison", "trial-design", "out-of-scope")
SPLITS = ("dev", "test")
DEV_SHARE = 0.6
GOLD_FILENAME = "gold.jsonl"

Split = Literal["dev", "test"]


class GoldSetError(ReviewqaError):
    """The gold set is missing or a row is malformed."""


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    answer: str
    evidence: list[str] = field(default_factory=list)
    cited_works: list[str] = field(default_factory=list)
    type: str = "factoid"
    split: str = "dev"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gold_path(eval_dir: Path) -> Path:
    return eval_dir / GOLD_FILENAME


def parse_row(data: dict[str, Any], where: str) -> GoldQuestion:
    """One JSON row as a GoldQuestion; raises GoldSetError naming ``where`` when a field is wrong."""
    required = {"id": str, "question": str, "answerable": bool, "answer": str, "type": str, "split": str}
    for name, kind in required.items():
        if not isinstance(data.get(name), kind):
            raise GoldSetError(f"{where}: field {name!r} must be a {kind.__name__}")
    if not data["question"].strip() or not data["id"].strip():
        raise GoldSetError(f"{where}: id and question must not be empty")
    for name in ("evidence", "cited_works"):
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise GoldSetError(f"{where}: field {name!r} must be a list of strings")
    if data["type"] not in QUESTION_TYPES:
        raise GoldSetError(
            f"{where}: unknown type {data['type']!r} (expected one of {', '.join(QUESTION_TYPES)})"
        )
    if data["split"] not in SPLITS:
        raise GoldSetError(f"{where}: split must be 'dev' or 'test', got {data['split']!r}")
    if data["answerable"] == (data["type"] == "out-of-scope"):
        raise GoldSetError(f"{where}: out-of-scope questions, and only they, must have answerable false")
    if data["answerable"] and not data.get("evidence"):
        raise GoldSetError(f"{where}: an answerable question needs at least one evidence phrase")
    return GoldQuestion(
        id=data["id"],
        question=data["question"],
        answerable=data["answerable"],
        answer=data["answer"],
        evidence=list(data.get("evidence", [])),
        cited_works=list(data.get("cited_works", [])),
        type=data["type"],
        split=data["split"],
    )


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read and validate the gold set; ids must be unique."""
    if not path.is_file():
        raise GoldSetError(f"gold set not found: {path}")
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldSetError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise GoldSetError(f"{where}: each line must be a JSON object")
        question = parse_row(data, where)
        if question.id in seen:
            raise GoldSetError(f"{where}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise GoldSetError(f"gold set is empty: {path}")
    return questions


def select_split(questions: Iterable[GoldQuestion], split: str) -> list[GoldQuestion]:
    if split == "all":
        return list(questions)
    if split not in SPLITS:
        raise GoldSetError(f"unknown split {split!r} (expected dev, test or all)")
    return [q for q in questions if q.split == split]


def _split_order(question_id: str) -> str:
    # A hash of the id, not the file order, so the split does not follow the review's section order.
    return hashlib.sha256(question_id.encode("utf-8")).hexdigest()


def assign_splits(ids_by_type: dict[str, list[str]], dev_share: float = DEV_SHARE) -> dict[str, Split]:
    """Deterministic split stratified by type: within each type, the first ``dev_share`` by id hash is dev."""
    assignment: dict[str, Split] = {}
    for ids in ids_by_type.values():
        ordered = sorted(ids, key=_split_order)
        dev_count = round(len(ordered) * dev_share)
        for position, question_id in enumerate(ordered):
            assignment[question_id] = "dev" if position < dev_count else "test"
    return assignment


def expected_splits(questions: Iterable[GoldQuestion]) -> dict[str, Split]:
    ids_by_type: dict[str, list[str]] = defaultdict(list)
    for question in questions:
        ids_by_type[question.type].append(question.id)
    return assign_splits(ids_by_type)
