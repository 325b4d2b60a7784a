"""Domain values of the knowledge base: chunks of articles, retrieved passages, citations."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Locale = Literal["zh", "en"]
LOCALES: tuple[Locale, ...] = ("zh", "en")
PassageSource = Literal["vector", "keyword", "hybrid"]
ALL_TIERS = "all"


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """One self-contained piece of an article: a section (or part of one) with its headings.

    ``text`` is the section's own Markdown. ``title_path`` ("Article title > Section") is
    what makes the chunk understandable alone; :attr:`search_text` joins the two and is what
    gets embedded and keyword-indexed.
    """

    id: str
    article_id: str
    locale: Locale
    title: str
    section: str
    title_path: str
    text: str
    tiers: tuple[str, ...]
    intents: tuple[str, ...]
    version: str
    topic: str

    @property
    def search_text(self) -> str:
        """Title path plus body: the text that is embedded and indexed."""
        return f"{self.title_path}\n{self.text}"

    def is_for_tier(self, tier: str | None) -> bool:
        """Whether a customer of ``tier`` (None: unknown) is covered by this chunk's article."""
        return tier is None or ALL_TIERS in self.tiers or tier in self.tiers

    @property
    def is_tier_specific(self) -> bool:
        """Whether the article applies to some tiers only."""
        return ALL_TIERS not in self.tiers

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        record = asdict(self)
        record["tiers"] = list(self.tiers)
        record["intents"] = list(self.intents)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Chunk:
        """Inverse of :meth:`to_record`."""
        return cls(**{**record, "tiers": tuple(record["tiers"]), "intents": tuple(record["intents"])})


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation:
    """What a reply cites: which article (and which version) a statement came from."""

    article_id: str
    locale: Locale
    title: str
    section: str
    version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Passage(Chunk):
    """A chunk returned by retrieval, with its score and the path that found it."""

    score: float
    source: PassageSource

    @classmethod
    def of(cls, chunk: Chunk, *, score: float, source: PassageSource) -> Passage:
        """The passage for ``chunk`` with ``score`` from ``source``."""
        fields = {name: getattr(chunk, name) for name in Chunk.__dataclass_fields__}
        return cls(**fields, score=score, source=source)

    def citation(self) -> Citation:
        """The citation a reply built on this passage carries."""
        return Citation(
            article_id=self.article_id,
            locale=self.locale,
            title=self.title,
            section=self.section,
            version=self.version,
        )
