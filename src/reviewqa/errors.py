"""Typed errors that the CLI and the service turn into clear messages (never stack traces)."""


class ReviewqaError(Exception):
    """Base class: a problem the user can act on, described by the message."""


class CorpusError(ReviewqaError):
    """The corpus cannot be read or ingested."""


class IndexNotReadyError(ReviewqaError):
    """The index is missing, stale or corrupt; the message says to run `reviewqa index`."""


class QuestionError(ReviewqaError):
    """A question that cannot be answered as asked: empty, whitespace-only or too long."""


class StorageError(ReviewqaError):
    """A file could not be written (disk full, permissions, read-only file system); nothing was replaced."""
