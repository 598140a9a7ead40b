"""Errors that carry one clear message for the person running glass."""

from __future__ import annotations


class GlassError(Exception):
    """Base class: anything glass refuses, explained in one sentence."""


class MissingWeightsError(GlassError):
    """Pretrained weights are neither on disk nor downloadable."""

    def __init__(self, what: str, how: str):
        self.what, self.how = what, how
        super().__init__(f"Missing weights: {what}. {how}")


class UnsafeFileError(GlassError):
    """A file asks to run code or is not in a format glass reads."""


class BadInputError(GlassError):
    """A caption, image or number that glass cannot search with."""
