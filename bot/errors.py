"""The bot's error hierarchy; ``bot/server/errors.py`` maps these to HTTP and WebSocket codes."""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the bot raises on purpose."""


class AuthError(BotError):
    """A token is missing, malformed, expired, of the wrong algorithm or scope."""


class Forbidden(BotError):
    """The principal may not touch this resource (another customer's conversation)."""


class NotFound(BotError):
    """The resource does not exist."""


class BadInput(BotError):
    """Input the customer or a client sent is not acceptable; the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StoreUnavailable(BotError):
    """The conversation store cannot be reached (Redis down, disk error)."""


class StateConflict(BotError):
    """A conversation state was changed by someone else since it was read."""


class CardSystemError(BotError):
    """The card system refused or failed an operation; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LLMUnavailable(BotError):
    """The LLM endpoint failed, timed out, or the circuit breaker is open."""


class LLMOutputInvalid(BotError):
    """The LLM answered with output that does not validate."""
