"""Errors of the understanding engine, under the bot's root ``BotError``."""

from __future__ import annotations

from bot.errors import BotError


class UnderstandingError(BotError):
    """Root of the understanding engine's errors."""


class DataFileInvalid(UnderstandingError):
    """A bundled data file (merchant list, sentiment lexicon) is missing or malformed."""


class TrainingDataInvalid(DataFileInvalid):
    """A training file is missing, malformed or names an unknown intent."""


class ArtifactInvalid(UnderstandingError):
    """An intent-model artifact cannot be read or does not match its metadata."""
