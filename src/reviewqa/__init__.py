"""reviewqa: literature-grounded question answering over a review and the papers it cites."""

__version__ = "0.1.0"
