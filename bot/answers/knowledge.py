"""Offline grounded answers: the best passage(s), trimmed to what the question asks, phrased.

Never a raw dump: the answer takes the sentences (and table rows, turned into sentences)
that best match the question, prefers ones stating a figure when a figure is asked, keeps
them in the article's order, and carries the article as a citation. A table the question
is about also comes along as a table card.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.answers.draft import Draft
from knowledge.models import Passage

# A sentence ends after 。！？!? (and after the closing quote that follows one: "…my card?" is one
# sentence), or at ". " before a capital, a figure or an opening quote.
_CLOSING = "”\"’」』)）"
_SENT_END = re.compile(
    rf"(?<=[。！？!?])(?![{_CLOSING}])|(?<=[。！？!?][{_CLOSING}])|(?<=\.[{_CLOSING}])(?=\s)"
    r"|(?<=\.)\s+(?=[A-Z0-9¥\"“(])"
)
_TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?|[\u4e00-\u9fff]")
_FIGURE = re.compile(r"\d")
SYNONYM_WEIGHT = 0.4
_UNIT_KEY = "\x00unit"
# What kind of figure a question asks for, and how a sentence states it.
_UNITS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"多久|多长时间|几天|几个工作日|哪天|什么时候|期限|\bhow (long|soon|many days)\b|\bwhen\b|\bdeadline\b", re.I),
     re.compile(r"\d+\s*(?:个)?(?:工作日|自然日|天|日内|个月|年)|\d+\s*(?:to|–|-)?\s*\d*\s*(?:business |calendar )?"
                r"(?:days?|months?|years?)", re.I)),
    (re.compile(r"多少钱|费用|收费|手续费|年费|滞纳金|利率|费率|比例|百分之|\bhow much\b|\bfees?\b|\bcost\b|\brate\b|"
                r"\bapr\b|\bpercent", re.I),
     re.compile(r"[¥￥]\s*\d|\d\s*元|\d\s*%|\d+\s*yuan", re.I)),
    (re.compile(r"几次|多少次|\bhow many (times|tries|attempts)\b", re.I),
     re.compile(r"\d+\s*次|\d+\s*(times|tries|wrong)", re.I)),
)
_MY_CARD = re.compile(r"我的卡|我的信用卡|我这张|我的(普|金|白金|钻石)?卡|\bmy (credit )?card\b|\bi get\b", re.I)
_ASKS_FIGURE = re.compile(
    r"多少|几|多久|多长|什么时候|哪天|几号|利率|费率|手续费|年费|费用|收费|how much|how many|how long|when|rate|fee|"
    r"cost|charge|apr|percent|%|days|limit|minimum|worked out|calculated|计算|怎么算|daily|每日|日利率",
    re.I,
)
# Interrogatives ("how long", "how much") say what kind of figure is wanted (see _UNITS); as
# words they only match unrelated sentences ("long term").
_STOP_EN = frozenset("the a an to of and or is are do does i my me you your what how can for on in it be this "
                     "that with at by from will would should long much many often when which who".split())
_EN_NORMAL = {"daily": "day", "days": "day", "monthly": "month", "months": "month", "yearly": "year",
              "annual": "year", "annually": "year", "lasts": "last", "charged": "charge", "charges": "charge"}
_STOP_ZH = frozenset("的了吗呢吧啊我您你是在和有怎么么什么请问一下个这那就都也要想能可以")
TIER_WORDS = {
    "classic": ("普卡", "classic"), "gold": ("金卡", "gold"),
    "platinum": ("白金卡", "platinum"), "diamond": ("钻石卡", "diamond"),
}


@dataclass(frozen=True, slots=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    start: int
    end: int


def terms(text: str) -> set[str]:
    """Question/sentence terms: English words (no stop words), Chinese characters and bigrams."""
    low = text.lower()
    words = [w for w in _WORD.findall(low) if w not in _STOP_EN and w not in _STOP_ZH]
    out = {_EN_NORMAL.get(w, w) for w in words}
    han = [w for w in words if len(w) == 1 and "\u4e00" <= w <= "\u9fff"]
    out.update(a + b for a, b in itertools.pairwise(han))
    for w in list(out):
        if w.endswith("s") and len(w) > 3:
            out.add(w[:-1])
    return out


def parse_tables(text: str) -> list[Table]:
    """Markdown tables in ``text`` (header, rows, and their line span)."""
    lines = text.splitlines()
    tables: list[Table] = []
    i = 0
    while i < len(lines) - 1:
        if _TABLE_ROW.match(lines[i]) and _TABLE_SEP.match(lines[i + 1]):
            header = _cells(lines[i])
            j = i + 2
            rows = []
            while j < len(lines) and _TABLE_ROW.match(lines[j]):
                rows.append(_cells(lines[j]))
                j += 1
            tables.append(Table(header=header, rows=rows, start=i, end=j))
            i = j
        else:
            i += 1
    return tables


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]


def _prose(text: str, tables: Sequence[Table]) -> str:
    lines = text.splitlines()
    skip = {n for t in tables for n in range(t.start, t.end)}
    kept = [ln for n, ln in enumerate(lines) if n not in skip and not ln.lstrip().startswith("#")]
    out: list[str] = []
    for ln in kept:
        s = ln.strip()
        is_item = bool(re.match(r"^([-*]|\d+\.)\s+", s))
        s = re.sub(r"^[-*]\s+|^\d+\.\s+", "", s).replace("**", "")
        if not s:
            continue
        if is_item and out:
            # A list belongs to the sentence that introduces it: keep them together.
            prev = out[-1]
            item = s.rstrip("。.；; ")
            if prev.endswith(("：", ":")):
                out[-1] = prev + ("" if _is_cjk(prev) else " ") + item
            else:
                out[-1] = prev.rstrip("。.；; ") + ("；" if _is_cjk(s) else "; ") + item
        else:
            out.append(s)
    return "\n".join(out)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def sentences(prose: str) -> list[str]:
    out: list[str] = []
    for line in prose.splitlines():
        for part in _SENT_END.split(line):
            part = part.strip().lstrip("—–").strip()  # "“…？”——对照上表…": the dash belongs to no sentence
            if len(part) > 1:
                out.append(part)
    return out


def row_sentence(header: Sequence[str], row: Sequence[str], lang: str) -> str:
    """A table row as a sentence: ``白金卡：年费 1,000元；减免条件 …。`` /
    ``Platinum — Annual fee: ¥1,000; How to have it waived: …`` (a column name is not run into its value)."""
    pairs = [(h, v) for h, v in zip(header[1:], row[1:], strict=False) if v and v not in ("—", "-")]
    if lang == "zh":
        return f"{row[0]}：" + "；".join(f"{h} {v}" for h, v in pairs) + "。"
    return f"{row[0]} — " + "; ".join(f"{h}: {v}" for h, v in pairs) + ("" if pairs and pairs[-1][1][-1:] in ".!?" else ".")


def _score(sentence: str, q: dict[str, float], wants_figure: bool, tiers: tuple[str, ...] = ()) -> float:
    st = terms(sentence)
    if not st:
        return 0.0
    overlap = sum(w for t, w in q.items() if t in st)
    score = overlap / (sum(1 for w in q.values() if w >= 1) ** 0.5 + 1)
    if wants_figure and _FIGURE.search(sentence):
        score += 0.35
        unit = q.get(_UNIT_KEY)
        if unit is not None and _UNITS[int(unit)][1].search(sentence):
            score += 0.5  # "how long" wants days, "how much" wants money or a rate
    if tiers:
        said = tiers_in(sentence)
        if said & set(tiers):
            score += 0.5
        elif said:
            score -= 0.6  # about another card tier than the one asked about
    return score


def tiers_in(text: str) -> set[str]:
    """Card tiers a text names (白金卡 is platinum, not also gold)."""
    low = text.lower()
    found = set()
    for tier, names in TIER_WORDS.items():
        for name in names:
            idx = low.find(name)
            while idx != -1:
                if not (tier == "gold" and low[max(0, idx - 1):idx] == "白"):
                    found.add(tier)
                    break
                idx = low.find(name, idx + 1)
    return found


def _tier_rows(table: Table, tier: str | None, q_text: str) -> list[int]:
    """Rows naming the tier the question (or the customer) is about."""
    low = q_text.lower()
    asked = [t for t, names in TIER_WORDS.items() if any(n in low for n in names)]
    wanted = asked or ([tier] if tier else [])
    out = []
    for i, row in enumerate(table.rows):
        first = row[0].lower() if row else ""
        if any(any(n in first for n in TIER_WORDS[t]) for t in wanted):
            out.append(i)
    return out


@functools.cache
def _synonyms() -> Any:
    """The knowledge base's slang groups (违约金 = 滞纳金 …), so sentences match in the bank's words."""
    from knowledge.synonyms import SynonymExpander, load_synonyms

    return SynonymExpander(load_synonyms())


def compose_answer(
    question: str,
    passages: Sequence[Passage],
    lang: str,
    *,
    tier: str | None = None,
    max_sentences: int = 3,
) -> Draft:
    """An extractive answer from the best article (and a second one when it clearly helps).

    Passages arrive best article first, several sections per article: the answer draws on
    every retrieved section of the best article, so the sentence stating the asked figure is
    found even when another section of that article ranked first. Each section a sentence
    comes from is cited.
    """
    if not passages:
        return Draft(text="", resolved=False)
    own = terms(question)
    # The customer's own words count fully; the bank's synonyms for them count a little.
    q = {t: SYNONYM_WEIGHT for t in terms(_synonyms().expansion(question)) - own} | {t: 1.0 for t in own}
    for n, (asks, _says) in enumerate(_UNITS):
        if asks.search(question):
            q[_UNIT_KEY] = float(n)  # a marker, never a sentence term
            break
    wants_figure = bool(_ASKS_FIGURE.search(question))
    articles: dict[str, list[Passage]] = {}
    for p in passages:
        articles.setdefault(p.article_id, []).append(p)
    groups = list(articles.values())
    picked, cards = _pick(question, q, groups[0], lang, tier=tier, wants_figure=wants_figure, limit=max_sentences)
    if len(groups) > 1 and groups[1][0].score >= 0.85 * groups[0][0].score:
        extra, _ = _pick(question, q, groups[1], lang, tier=tier, wants_figure=wants_figure, limit=1)
        if extra and _score(extra[0][1], q, wants_figure) > 0.5:
            picked += extra
    used: list[Passage] = []
    for source, _ in picked:
        if source not in used:
            used.append(source)
    text = _join([sentence for _, sentence in picked], lang)
    return Draft(
        text=text,
        handled="knowledge",
        citations=_article_citations(used),
        cards=cards,
        passages=[p.text for p in used],
        resolved=bool(text),
        meta={"articles": list(dict.fromkeys(p.article_id for p in used))},
    )


def _pick(
    question: str, q: dict[str, float], group: Sequence[Passage], lang: str, *, tier: str | None, wants_figure: bool,
    limit: int,
) -> tuple[list[tuple[Passage, str]], list[dict[str, Any]]]:
    """The best sentences (and table rows as sentences) of one article's sections, in order."""
    asked = tuple(tiers_in(question))
    if not asked and tier and _MY_CARD.search(question):
        asked = (tier,)  # "does my card…": the customer's own tier
    candidates: list[tuple[float, tuple[int, int], str, Passage]] = []
    cards: list[dict[str, Any]] = []
    for p_index, passage in enumerate(group):
        tables = parse_tables(passage.text)
        prose = sentences(_prose(passage.text, tables))
        for i, sent in enumerate(prose):
            candidates.append((_score(sent, q, wants_figure, asked), (p_index, i), sent, passage))
        base = len(prose)
        for t_index, table in enumerate(tables):
            focus = _tier_rows(table, tier, question)
            for r_index, row in enumerate(table.rows):
                sent = row_sentence(table.header, row, lang)
                bonus = 0.6 if r_index in focus else 0.0
                candidates.append((_score(sent, q, wants_figure, asked) + bonus,
                                   (p_index, base + t_index * 100 + r_index), sent, passage))
            relevance = max((_score(" ".join(r), q, wants_figure) for r in table.rows), default=0.0)
            if relevance > 0.3 and not focus and p_index == 0:
                cards.append({
                    "type": "table", "id": f"kb-{passage.article_id}-{t_index}", "title": passage.section,
                    "columns": table.header, "rows": [{"cells": r} for r in table.rows],
                })
    if not candidates:
        return [], cards
    ranked = sorted(candidates, key=lambda c: -c[0])
    best = [c for c in ranked[:limit] if c[0] > 0] or ranked[:1]
    unit = q.get(_UNIT_KEY)
    says = _UNITS[int(unit)][1] if unit is not None else _FIGURE
    if wants_figure and not any(says.search(c[2]) for c in best):
        # A figure was asked for ("how long" → a duration): bring the best sentence stating one.
        with_figure = next((c for c in ranked if says.search(c[2]) and c[0] > 0), None)
        if with_figure is not None:
            best = [*best[: max(1, limit - 1)], with_figure]
    return [(c[3], c[2]) for c in sorted(best, key=lambda c: c[1])], cards


def _join(parts: Sequence[str], lang: str) -> str:
    if lang == "zh":
        return "".join(p if p.endswith(("。", "！", "？", "：", "；")) else p + "。" for p in parts)
    return " ".join(p if p.endswith((".", "!", "?", ":")) else p + "." for p in parts)


def _article_citations(used: Sequence[Passage]) -> list[dict[str, Any]]:
    """One citation per article; an answer drawn from two sections names both."""
    out: dict[str, dict[str, Any]] = {}
    for p in used:
        c = out.get(p.article_id)
        if c is None:
            out[p.article_id] = citation(p)
        elif p.section and p.section not in c["section"].split(" · "):
            c["section"] = f"{c['section']} · {p.section}"
    return list(out.values())


def citation(p: Passage) -> dict[str, Any]:
    """The wire form of a citation (``docs/protocol.md``)."""
    snippet = _prose(p.text, parse_tables(p.text)).replace("\n", " ")
    return {
        "article_id": p.article_id,
        "locale": p.locale,
        "title": p.title,
        "section": p.section,
        "version": p.version,
        "snippet": snippet[:160] + ("…" if len(snippet) > 160 else ""),
    }
