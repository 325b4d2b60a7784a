"""Heading-aware chunking: one chunk per ``##`` section, split further only when a section is too long.

Every chunk carries its title path ("Article title > Section > Subsection"), so it reads on
its own when retrieved, embedded or cited without the rest of the article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from knowledge.articles import Article
from knowledge.models import Chunk

CHUNKER_VERSION = 1
# Rough e5 tokens: a Chinese character is about one token, an English word a little more.
# 320 keeps a chunk well under the model's 512 and about one question's worth of text.
MAX_WEIGHT = 320
# An introduction shorter than this is folded into the first section instead of standing alone.
MIN_INTRO_WEIGHT = 25

_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,'’][A-Za-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=[.])\s+")
SEPARATOR = " > "


def weight(text: str) -> float:
    """Approximate model tokens of ``text``."""
    return len(_CJK_CHAR.findall(text)) + 1.3 * len(_LATIN_WORD.findall(text))


def chunk_article(article: Article, *, max_weight: float = MAX_WEIGHT) -> list[Chunk]:
    """The chunks of one article, in reading order, with ids ``<id>:<locale>:<n>``."""
    pieces = list(_pieces(article.body, article.title, max_weight))
    return [
        Chunk(
            id=f"{article.id}:{article.locale}:{n}",
            article_id=article.id,
            locale=article.locale,
            title=article.title,
            section=path[-1] if len(path) > 1 else "",
            title_path=SEPARATOR.join(path),
            text=text,
            tiers=article.tiers,
            intents=article.intents,
            version=str(article.version),
            topic=article.topic,
        )
        for n, (path, text) in enumerate(pieces)
    ]


def _sections(body: str) -> tuple[str, list[tuple[str, str]]]:
    """The introduction and the ``##`` sections (heading, text) of a body that starts with ``# Title``."""
    lines = body.strip().splitlines()[1:]
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            intro.append(line)
    return "\n".join(intro).strip(), [(h, "\n".join(body_lines).strip()) for h, body_lines in sections]


def _pieces(body: str, title: str, max_weight: float) -> Iterator[tuple[tuple[str, ...], str]]:
    intro, sections = _sections(body)
    if intro and sections and weight(intro) < MIN_INTRO_WEIGHT:
        heading, text = sections[0]
        sections[0] = (heading, f"{intro}\n\n{text}".strip())
        intro = ""
    if intro:
        yield from _fit((title,), intro, max_weight)
    for heading, text in sections:
        if text:
            yield from _fit((title, heading), text, max_weight)


def _fit(path: tuple[str, ...], text: str, max_weight: float) -> Iterator[tuple[tuple[str, ...], str]]:
    """``text`` as one piece, or split at ``###`` headings, then paragraphs, then sentences."""
    if weight(text) <= max_weight:
        yield path, text
        return
    subsections = re.split(r"^### +(.+)$", text, flags=re.MULTILINE)
    if len(subsections) > 1:
        lead, rest = subsections[0].strip(), subsections[1:]
        if lead:
            yield from _fit(path, lead, max_weight)
        for heading, sub in zip(rest[::2], rest[1::2], strict=True):
            if sub.strip():
                yield from _fit((*path, heading.strip()), sub.strip(), max_weight)
        return
    for part in _pack(_units(text, max_weight), max_weight):
        yield path, part


def _units(text: str, max_weight: float) -> Iterator[str]:
    """Paragraphs; a paragraph over the limit becomes sentences; a sentence over it, slices."""
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if weight(paragraph) <= max_weight:
            yield paragraph
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            sentence = sentence.strip()
            while weight(sentence) > max_weight:
                cut = _cut_point(sentence, max_weight)
                yield sentence[:cut]
                sentence = sentence[cut:].strip()
            if sentence:
                yield sentence


def _cut_point(text: str, max_weight: float) -> int:
    lo, hi = 1, len(text)
    while lo < hi:  # the longest prefix within the limit
        mid = (lo + hi + 1) // 2
        if weight(text[:mid]) <= max_weight:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _pack(units: Iterator[str], max_weight: float) -> Iterator[str]:
    """Greedily joins consecutive units while the result stays within the limit."""
    current: list[str] = []
    for unit in units:
        if current and weight("\n\n".join([*current, unit])) > max_weight:
            yield "\n\n".join(current)
            current = []
        current.append(unit)
    if current:
        yield "\n\n".join(current)
