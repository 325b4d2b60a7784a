"""Reads the article sources and cuts them into chunks, validating everything before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge.articles import ARTICLES_DIR, Article, load_articles
from knowledge.index import Heading, article_key
from knowledge.ingestion.chunking import chunk_article
from knowledge.models import Chunk


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One article version and its chunks."""

    article: Article
    chunks: tuple[Chunk, ...]

    @property
    def key(self) -> str:
        """Manifest key (``<locale>/<id>``)."""
        return article_key(self.article.id, self.article.locale)

    @property
    def headings(self) -> tuple[Heading, ...]:
        """The article title and each distinct title path, embedded apart from the chunk bodies."""
        texts = dict.fromkeys([self.article.title, *(c.title_path for c in self.chunks)])
        return tuple(Heading(article_id=self.article.id, locale=self.article.locale, text=t) for t in texts)


def load_sources(articles_dir: Path | None = None) -> Mapping[str, Source]:
    """Every article under ``articles_dir`` (default: the shipped ones), chunked, by manifest key.

    Raises ``ArticleError`` (naming the file) for broken front matter or duplicate ids.
    """
    articles = load_articles(articles_dir or ARTICLES_DIR)
    sources = {}
    for article in articles:
        source = Source(article=article, chunks=tuple(chunk_article(article)))
        sources[source.key] = source
    return sources
