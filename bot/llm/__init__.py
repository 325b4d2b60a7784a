"""The LLM engine: an OpenAI-compatible chat model behind the engine's ``LLMAssist`` seam.

``bot.server`` builds it with :func:`build_llm_assist` when an LLM is configured; nothing
in the bot core imports this package.
"""

from bot.llm.breaker import BreakerState, CircuitBreaker
from bot.llm.engine import LLMEngine, build_llm_assist
from bot.llm.openai_compat import Completion, OpenAICompatChatModel, ToolCallRequest, Usage

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Completion",
    "LLMEngine",
    "OpenAICompatChatModel",
    "ToolCallRequest",
    "Usage",
    "build_llm_assist",
]
