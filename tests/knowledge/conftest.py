"""Fixtures for the ingestion and retrieval tests: a small bilingual knowledge base written to tmp_path.

Nothing here is autouse: tests ask for what they need.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from knowledge import KnowledgeConfig, ingest

WriteArticle = Callable[..., Path]


def article_text(
    *,
    id: str,
    locale: str,
    title: str,
    sections: Sequence[tuple[str, str]],
    topic: str = "card_lifecycle",
    intents: Sequence[str] = ("card.lost_stolen",),
    tiers: Sequence[str] = ("all",),
    version: int = 1,
    intro: str = "",
) -> str:
    """An article file in the knowledge base's format."""
    body = "\n\n".join([f"# {title}", *([intro] if intro else []), *(f"## {h}\n\n{t}" for h, t in sections)])
    return (
        "---\n"
        f"id: {id}\nlocale: {locale}\ntitle: {json.dumps(title, ensure_ascii=False)}\ntopic: {topic}\n"
        f"intents: [{', '.join(intents)}]\ntiers: [{', '.join(tiers)}]\n"
        f"effective_date: 2026-01-01\nversion: {version}\n"
        f"---\n\n{body}\n"
    )


SMALL_KB: tuple[dict[str, object], ...] = (
    {
        "id": "lost-stolen-card",
        "locale": "zh",
        "title": "卡片丢失或被盗：立即挂失冻结",
        "sections": [
            ("卡丢了怎么办？", "发现信用卡丢失或被盗，请立即在App里挂失，卡片会马上冻结，全天候可办理。"),
            ("挂失以后", "挂失冻结后卡片不能再解冻，我们会为您补发一张新卡。"),
        ],
    },
    {
        "id": "lost-stolen-card",
        "locale": "en",
        "title": "Lost or stolen card: report and freeze it now",
        "sections": [
            (
                "What to do when your card is lost",
                "Report a lost or stolen card in the app at once; it is frozen immediately, day or night.",
            ),
            ("After the report", "A card reported lost cannot be unfrozen. We send you a replacement card."),
        ],
    },
    {
        "id": "annual-fee-and-waivers",
        "locale": "zh",
        "title": "年费与年费减免",
        "topic": "annual_fee",
        "intents": ["billing.annual_fee"],
        "sections": [
            ("各卡种年费", "普卡免年费；金卡年费200元；白金卡年费1,000元；钻石卡年费3,600元。"),
            ("怎么免年费", "金卡一个卡年内消费满6笔即可免次年年费。白金卡消费满10万元或用5万积分抵扣。"),
        ],
    },
    {
        "id": "annual-fee-and-waivers",
        "locale": "en",
        "title": "Annual fees and how to get them waived",
        "topic": "annual_fee",
        "intents": ["billing.annual_fee"],
        "sections": [
            (
                "Annual fee by card",
                "Classic has no annual fee; Gold is 200 yuan; Platinum 1,000 yuan; Diamond 3,600 yuan.",
            ),
            (
                "Waiving the annual fee",
                "Gold: make 6 purchases in the card year. "
                "Platinum: spend 100,000 yuan or redeem 50,000 points.",
            ),
        ],
    },
    {
        "id": "tier-platinum-benefits",
        "locale": "zh",
        "title": "白金卡权益",
        "topic": "benefits",
        "intents": ["benefits.rights"],
        "tiers": ["platinum"],
        "sections": [
            (
                "白金卡有哪些权益",
                "白金卡每年6次机场贵宾厅，境外交易免手续费，消费每元1.5积分，年费1,000元可以减免。",
            ),
        ],
    },
    {
        "id": "tier-platinum-benefits",
        "locale": "en",
        "title": "Platinum card benefits",
        "topic": "benefits",
        "intents": ["benefits.rights"],
        "tiers": ["platinum"],
        "sections": [
            (
                "What Platinum gives you",
                "Six airport lounge visits a year, no foreign transaction fee, 1.5 points per yuan; "
                "the annual fee of 1,000 yuan can be waived.",
            ),
        ],
    },
    {
        "id": "tier-gold-benefits",
        "locale": "zh",
        "title": "金卡权益",
        "topic": "benefits",
        "intents": ["benefits.rights"],
        "tiers": ["gold"],
        "sections": [
            ("金卡有哪些权益", "金卡享受失卡保障和航空意外险，消费每元1积分，年费200元可以减免。"),
        ],
    },
    {
        "id": "tier-gold-benefits",
        "locale": "en",
        "title": "Gold card benefits",
        "topic": "benefits",
        "intents": ["benefits.rights"],
        "tiers": ["gold"],
        "sections": [
            (
                "What Gold gives you",
                "Lost-card protection and travel accident insurance, 1 point per yuan; "
                "the annual fee of 200 yuan can be waived.",
            ),
        ],
    },
    {
        "id": "installment-fees-apr",
        "locale": "zh",
        "title": "分期手续费与年化利率",
        "topic": "installments",
        "intents": ["installment"],
        "sections": [
            ("各期数的手续费", "分3期每期0.75%，分6期每期0.70%，分12期每期0.66%，分24期每期0.66%。"),
            ("年化利率", "分12期的年化利率是14.31%，分24期是14.54%。"),
        ],
    },
    {
        "id": "installment-fees-apr",
        "locale": "en",
        "title": "Installment fees and APR",
        "topic": "installments",
        "intents": ["installment"],
        "sections": [
            (
                "Fee per period",
                "3 periods: 0.75% per period; 6 periods: 0.70%; 12 periods: 0.66%; 24 periods: 0.66%.",
            ),
            ("APR", "A 12-period installment has an APR of 14.31%; 24 periods 14.54%."),
        ],
    },
    {
        "id": "airport-lounge",
        "locale": "en",
        "title": "Airport lounges",
        "topic": "benefits",
        "intents": ["benefits.rights"],
        "tiers": ["platinum", "diamond"],
        "sections": [
            (
                "Lounge visits",
                "Platinum cardholders get 6 airport lounge visits a year, "
                "Diamond cardholders unlimited visits.",
            ),
        ],
    },
)


def write_kb(root: Path, articles: Sequence[dict[str, object]] = SMALL_KB) -> Path:
    """Write ``articles`` under ``root/<locale>/<id>.md``; returns ``root``."""
    for spec in articles:
        path = root / str(spec["locale"]) / f"{spec['id']}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_text(**spec), encoding="utf-8")  # type: ignore[arg-type]
    return root


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """The small bilingual knowledge base, in a folder of its own."""
    return write_kb(tmp_path / "articles")


@pytest.fixture
def hash_config(tmp_path: Path, kb_dir: Path) -> KnowledgeConfig:
    """Config for an index of the small knowledge base built with the hashing embedder."""
    return KnowledgeConfig(index_dir=tmp_path / "var" / "index", articles_dir=kb_dir, embedder="hash")


@pytest.fixture(scope="module")
def built_small_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeConfig:
    """The small knowledge base ingested once per test module (hash embedder, embedded Chroma)."""
    root = tmp_path_factory.mktemp("small-kb")
    config = KnowledgeConfig(
        index_dir=root / "var" / "index", articles_dir=write_kb(root / "articles"), embedder="hash"
    )
    asyncio.run(ingest(config))
    return config
