"""Prompt files, data blocks, and the check that a reply does not give the prompt away.

Prompts live in ``bot/llm/prompts/*.md``; the first line of each is its version
(``<!-- version: answer/1 -->``), which turn records carry. Instructions go in the system
message only. Everything the customer or the knowledge base wrote goes into the user
message inside tagged data blocks, with angle brackets neutralised so that no data can
close its block and pose as an instruction.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

_VERSION = re.compile(r"^<!--\s*version:\s*(\S+)\s*-->\s*\n")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
LEAK_WINDOW = 24


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """One prompt file: its name, version and text (without the version line)."""

    name: str
    version: str
    text: str

    def render(self, **values: str) -> str:
        """The text with ``{{name}}`` placeholders filled; every placeholder needs a value."""
        wanted = set(_PLACEHOLDER.findall(self.text))
        missing = wanted - values.keys()
        assert not missing, f"prompt {self.name!r} needs {sorted(missing)!r}"
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


@functools.cache
def load_prompt(name: str) -> Prompt:
    """``bot/llm/prompts/<name>.md``; a file without a version line is a packaging error."""
    raw = resources.files("bot.llm").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")
    found = _VERSION.match(raw)
    if found is None:
        raise ValueError(f"prompt {name!r} has no version line")
    return Prompt(name=name, version=found.group(1), text=raw[found.end() :].strip())


def system_message(task: str, **values: str) -> tuple[str, str]:
    """The system message for ``task`` (the shared rules, then the task), and the versions used."""
    system, body = load_prompt("system"), load_prompt(task)
    return f"{system.text}\n\n{body.render(**values)}", f"{system.version}+{body.version}"


def escape_data(text: str) -> str:
    """Data text that cannot open or close a block: ``<`` and ``>`` become their full-width forms."""
    return text.replace("<", "＜").replace(">", "＞")


def block(tag: str, content: str, **attrs: str) -> str:
    """``<tag a="…">content</tag>`` with the content (and attributes) escaped."""
    extra = "".join(f' {k}="{escape_data(v).replace(chr(34), "＂")}"' for k, v in attrs.items())
    return f"<{tag}{extra}>\n{escape_data(content.strip())}\n</{tag}>"


def json_block(tag: str, data: Mapping[str, Any] | Sequence[Any]) -> str:
    """A data block holding JSON (figures kept as the card system wrote them)."""
    return block(tag, json.dumps(data, ensure_ascii=False, default=str, sort_keys=True))


def _normalise(text: str) -> str:
    return re.sub(r"[\s*#`_>|-]+", " ", text.lower()).strip()


@functools.cache
def _windows(prompt: str, size: int) -> frozenset[str]:
    norm = _normalise(prompt)
    return frozenset(norm[i : i + size] for i in range(max(0, len(norm) - size + 1)))


def leaks_prompt(reply: str, prompt: str, *, window: int = LEAK_WINDOW) -> bool:
    """Whether ``reply`` contains ``window`` or more consecutive characters of ``prompt``.

    Compared after lower-casing and collapsing whitespace and Markdown marks, so a reply
    that reformats the rules is caught as well as one that copies them.
    """
    norm = _normalise(reply)
    if len(norm) < window:
        return False
    known = _windows(prompt, window)
    return any(norm[i : i + window] in known for i in range(len(norm) - window + 1))
