"""Reading a YAML document's shapes: each reader checks one value and names where it sits.

Every error is a :class:`GraphError` whose message starts with the node at fault
(``need 'card_lost' label: missing en``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import cast

from knowledge.graph.errors import GraphError
from knowledge.graph.model import Bilingual

ID = re.compile(r"[a-z][a-z0-9_]*")
ARTICLE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def mapping(raw: object, where: str) -> dict[str, object]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise GraphError(f"{where}: expected a mapping")
    return cast(dict[str, object], raw)


def sequence(raw: object, where: str) -> list[object]:
    if not isinstance(raw, list):
        raise GraphError(f"{where}: expected a list")
    return raw


def keys(
    raw: Mapping[str, object], where: str, *, required: Sequence[str], optional: Sequence[str] = ()
) -> None:
    missing = [k for k in required if k not in raw]
    if missing:
        raise GraphError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(k for k in raw if k not in required and k not in optional)
    if unknown:
        raise GraphError(f"{where}: unknown key {unknown[0]!r}")


def bilingual(raw: object, where: str) -> Bilingual:
    body = mapping(raw, where)
    keys(body, where, required=("zh", "en"))
    for locale in ("zh", "en"):
        text = body[locale]
        if not isinstance(text, str) or not text.strip():
            raise GraphError(f"{where}: the {locale} text must be a non-empty string")
    return Bilingual(zh=str(body["zh"]).strip(), en=str(body["en"]).strip())


def strings(
    raw: object, where: str, *, pattern: re.Pattern[str] | None = None, non_empty: bool = False
) -> tuple[str, ...]:
    items = sequence(raw, where)
    if non_empty and not items:
        raise GraphError(f"{where}: must not be empty")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise GraphError(f"{where}: {item!r} is not a non-empty string")
        if pattern is not None and not pattern.fullmatch(item):
            raise GraphError(f"{where}: {item!r} is not a valid id")
        out.append(item.strip())
    if len(set(out)) != len(out):
        raise GraphError(f"{where}: an entry is listed twice")
    return tuple(out)


def identifier(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not ID.fullmatch(raw):
        raise GraphError(f"{where}: {raw!r} is not a valid id")
    return raw


def rank(raw: object, where: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise GraphError(f"{where}: rank must be a whole number from 1, got {raw!r}")
    return raw
