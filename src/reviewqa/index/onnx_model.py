"""The ``onnx-int8`` embedding backend: the packaged sentence-transformers model exported once to ONNX,
quantised to int8, and run with plain onnxruntime and ``tokenizers`` (no torch at query time).

Export (offline, from the local model directory): ``torch.onnx.export`` of the transformer with eager
attention (torch's SDPA exports as extra Where/IsNaN nodes, 14% of the run time), then onnxruntime's
dynamic quantisation of the MatMul weights, per channel, with reduced range (without these three the
cosine to fp32 falls from 0.99 to 0.98, ``../shared/MODELS.md``), to *signed* int8: onnxruntime's
u8s8 kernels ran 1.8x faster per core than the u8u8 ones that unsigned weights use, which were no faster
than torch fp32 (docs/indexing.md). The export runs in a
subprocess, once per model and library versions, into a cache shared by every index of the install
(:func:`int8_model`); each index keeps its own copy of the file it was built with (see ``store``).

Pooling follows the model's sentence-transformers configuration exactly: tokens truncated at
``max_seq_length``, the mean of the token vectors under the attention mask, then L2 normalisation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reviewqa.errors import ReviewqaError
from reviewqa.fileio import exclusive_lock, file_sha256

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

log = logging.getLogger(__name__)

# Part of the export cache key: a change here (or in the libraries below) exports afresh.
RECIPE = "dynamo-export,eager-attention;quantize_dynamic:QInt8,per_channel,reduce_range,MatMul;stripped;v2"
EXPORT_LIBRARIES = ("torch", "transformers", "onnx", "onnxscript", "onnxruntime")
INT8_FILE = "model_int8.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxExportError(ReviewqaError):
    """The int8 ONNX model could not be exported from the configured model directory."""


# ---------------------------------------------------------------- export


def int8_model(model_path: str, cache_dir: Path) -> Path:
    """The int8 ONNX model of ``model_path`` in ``cache_dir``, exported on first use.

    One folder per (source weights, recipe, library versions); written to a temporary folder and renamed,
    under a lock, so a crash or a concurrent build never leaves a half-written model in the cache.
    """
    from reviewqa.index.embed import check_model_dir

    check_model_dir(model_path)  # a clear error before the slow export
    target = cache_dir / export_key(model_path) / INT8_FILE
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(cache_dir / ".export.lock"):
        if target.is_file():  # another process exported it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=".exporting-", dir=cache_dir))
        try:
            _export_in_subprocess(model_path, staging)
            (staging / "model.onnx").unlink()  # the fp32 intermediate (and its weights file) are not kept
            (staging / "model.onnx.data").unlink(missing_ok=True)
            (staging / "source.json").write_text(
                json.dumps({"model_path": model_path, "recipe": RECIPE, "versions": _versions()}, indent=2)
            )
            staging.chmod(0o755)  # mkdtemp's 0700 would hide it from a service running as another user
            staging.rename(target.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def export_key(model_path: str) -> str:
    """Digest of the source model's files, the recipe and the exporting libraries' versions."""
    digest = hashlib.sha256(RECIPE.encode())
    digest.update(json.dumps(_versions(), sort_keys=True).encode())
    root = Path(model_path)
    sources = (p for p in root.rglob("*") if p.is_file() and p.suffix in {".json", ".safetensors", ".bin"})
    for path in sorted(sources):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(file_sha256(path).encode())
    name = root.parent.name if root.name == "model" else root.name  # as embed.model_name
    return f"{name}-{digest.hexdigest()[:16]}"


def _versions() -> dict[str, str]:
    versions = {}
    for name in EXPORT_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _export_in_subprocess(model_path: str, out_dir: Path) -> None:
    """Run :func:`export` in a child process: the exporter prints to stdout and holds torch's memory."""
    log.info("exporting the int8 ONNX embedding model (once per install; about 10 CPU-seconds)")
    result = subprocess.run(
        [sys.executable, "-m", "reviewqa.index.onnx_model", model_path, str(out_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        check=False,
    )
    if result.returncode != 0 or not (out_dir / INT8_FILE).is_file():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise OnnxExportError(
            f"could not export the embedding model at {model_path} to ONNX (set embed_backend = "
            f'"torch" to index without it): {tail}'
        )


def export(model_path: str, out_dir: Path) -> None:
    """Export the transformer to ``out_dir/model.onnx``, then quantise it to ``out_dir/model_int8.onnx``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    example = tuple(torch.ones((2, 16), dtype=torch.int64) for _ in INPUTS)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    torch.onnx.export(
        model,
        example,
        str(out_dir / "model.onnx"),
        dynamo=True,
        dynamic_shapes=({0: batch, 1: sequence},) * len(INPUTS),
        input_names=list(INPUTS),
        output_names=["last_hidden_state"],
    )
    quantize_dynamic(
        out_dir / "model.onnx",
        out_dir / INT8_FILE,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul"],
    )
    _strip_provenance(out_dir / INT8_FILE)


def _strip_provenance(path: Path) -> None:
    """Drop the exporter's per-node metadata (source lines and paths of this install), so the same
    weights and versions give the same bytes on every machine, and a manifest's checksum is portable."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    model.graph.doc_string = ""
    onnx.save(model, str(path))


# ---------------------------------------------------------------- running


def max_seq_length(model_path: str) -> int:
    """The model's sentence-transformers truncation length (its tokenizer.json may say otherwise)."""
    config = Path(model_path) / "sentence_bert_config.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        return int(json.loads(config.read_text(encoding="utf-8"))["max_seq_length"])
    return 256


def check_mean_pooling(model_path: str) -> None:
    """Only mean pooling is implemented here; another pooling must use the torch backend."""
    for config in Path(model_path).glob("*_Pooling/config.json"):
        modes = json.loads(config.read_text(encoding="utf-8"))
        chosen = [k for k, v in modes.items() if k.startswith("pooling_mode") and v]
        if chosen != ["pooling_mode_mean_tokens"]:
            raise OnnxExportError(
                f"the model at {model_path} pools with {', '.join(chosen) or 'nothing'}; the onnx-int8 "
                'backend implements mean pooling only: set embed_backend = "torch"'
            )


@dataclass
class OnnxEmbedder:
    """Token vectors and mean-pooled, L2-normalised text vectors from the int8 model."""

    onnx_path: Path
    model_path: str
    threads: int
    _session: onnxruntime.InferenceSession | None = field(default=None, init=False, repr=False)
    _tokenizer: Tokenizer | None = field(default=None, init=False, repr=False)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(Path(self.model_path) / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=max_seq_length(self.model_path))
            tokenizer.no_padding()  # padded per batch, to the batch's longest text
            self._tokenizer = tokenizer
        return self._tokenizer

    @property
    def session(self) -> onnxruntime.InferenceSession:
        if self._session is None:
            import onnxruntime

            check_mean_pooling(self.model_path)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            self._session = onnxruntime.InferenceSession(
                str(self.onnx_path), options, providers=["CPUExecutionProvider"]
            )
        return self._session

    @property
    def dimension(self) -> int:
        hidden = next(o for o in self.session.get_outputs() if o.name == "last_hidden_state")
        return int(hidden.shape[-1])

    def tokenize(self, texts: list[str]) -> list[Encoding]:
        return self.tokenizer.encode_batch(texts, add_special_tokens=True)

    def token_vectors(self, encodings: list[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """(hidden states (n, longest, d), attention mask (n, longest)) of one batch padded to its longest."""
        longest = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), longest), dtype=np.int64) for name in INPUTS}
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            feeds["input_ids"][row, :size] = encoding.ids
            feeds["attention_mask"][row, :size] = encoding.attention_mask
            feeds["token_type_ids"][row, :size] = encoding.type_ids
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        return hidden, feeds["attention_mask"]


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling then ``normalize``: masked mean, divided by max(norm, 1e-12)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    return l2_normalise(pooled)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


if __name__ == "__main__":  # the export subprocess: python -m reviewqa.index.onnx_model MODEL_DIR OUT_DIR
    export(sys.argv[1], Path(sys.argv[2]))
