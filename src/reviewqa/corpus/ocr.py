"""OCR of image-only PDFs with ``ocrmypdf`` (Debian: ``apt-get install ocrmypdf tesseract-ocr``), when
installed. The text layer it adds is read like any PDF's; the original file is left untouched."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reviewqa.errors import CorpusError

OCR_SECONDS_PER_PAGE = 60  # tesseract takes a few seconds a page here; this only stops a hung run
OCR_LANGUAGE = "eng"


class OcrError(CorpusError):
    """OCR is not installed or failed."""


def ocr_available() -> bool:
    return shutil.which("ocrmypdf") is not None and shutil.which("tesseract") is not None


@contextmanager
def ocr_pdf(path: Path, page_count: int) -> Iterator[Path]:
    """A temporary copy of ``path`` with an OCR text layer; removed on leaving the block."""
    if not ocr_available():
        raise OcrError("OCR skipped: install ocrmypdf and tesseract-ocr to read it")
    with tempfile.TemporaryDirectory(prefix="reviewqa-ocr-") as folder:
        target = Path(folder) / "ocr.pdf"
        command = ["ocrmypdf", "--quiet", "--language", OCR_LANGUAGE, "--deskew", "--rotate-pages",
                   "--optimize", "0", "--output-type", "pdf", str(path), str(target)]  # fmt: skip
        try:
            timeout = OCR_SECONDS_PER_PAGE * max(page_count, 1)
            subprocess.run(command, check=True, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise OcrError(f"OCR took longer than {exc.timeout:.0f} s") from exc
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            raise OcrError(f"OCR failed: {detail.decode(errors='replace').strip()[-300:] or exc}") from exc
        yield target
