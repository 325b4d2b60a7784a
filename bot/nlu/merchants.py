"""Merchant names: a known list kept as data (``data/merchants.yaml``), then ``在X消费`` / ``at X``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import yaml

from bot.nlu.errors import DataFileInvalid

MERCHANTS_PATH: Final = Path(__file__).parent / "data" / "merchants.yaml"

# Chinese: 在<merchant>(上|里)?<spending verb>.
_ZH_AT: Final = re.compile(
    r"在\s*(?P<name>[\u4e00-\u9fffa-z0-9&'. ]{2,12}?)\s*(?:上|里|那里|那儿|店里|店)?\s*"
    r"(?:消费|刷卡|刷了|刷|买|购买|购物|付款|支付|付了|扣|下单|充值|订|吃|加油"
    r"|的消费|的一笔|的交易|的订单|有一笔|有笔)"
)
# English: at/from/by + capitalised words, read from the case-preserving text.
_EN_AT: Final = re.compile(r"\b(?:at|from|by)\s+(?P<name>[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,3})")

_GENERIC_PLACES: Final = frozenset(
    "网上 网店 线上 线下 国外 境外 海外 国内 外面 外地 当地 本地 商场 超市 店里 商店 手机 手机上 app "
    "那 这 那里 这里 哪里 哪儿 一家 一个 某个 某家 某 机场 酒店 饭店 餐厅 医院 学校 网站 平台 "
    "pos机 pos 柜台 便利店 淘宝上 外卖 家里 路上 你们 你们这 你们银行 银行 这家 那家 同一家 同一个 "
    "一个网站 一家店 不知道的地方 陌生的地方".split()
)
_NOT_MERCHANT_EN: Final = frozenset(
    "i i'm my the a an lumen lumen bank china atm visa mastercard unionpay app pin cvv ok thanks "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june "
    "july august september october november december christmas new year".split()
)


@dataclass(frozen=True, slots=True)
class _Known:
    pattern: re.Pattern[str]
    names: dict[str, str]


@cache
def _known() -> _Known:
    """The known-merchant list compiled into one pattern (loaded once, on first use)."""
    try:
        raw = yaml.safe_load(MERCHANTS_PATH.read_text(encoding="utf-8"))
        entries = raw["merchants"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataFileInvalid(f"cannot read merchant list {str(MERCHANTS_PATH)!r}: {exc}") from exc
    names: dict[str, str] = {}
    alternatives: list[tuple[str, str]] = []
    for entry in entries:
        not_before = "".join(f"(?!\\s*{re.escape(word)})" for word in entry.get("not_before", ()))
        for alias in entry["aliases"]:
            key = str(alias).lower()
            names[key] = str(entry["name"])
            body = re.escape(key)
            if key[0].isascii() and key[0].isalnum():
                body = f"(?<![a-z0-9]){body}(?![a-z0-9])"
            alternatives.append((key, f"(?:{body}){not_before}"))
    alternatives.sort(key=lambda item: len(item[0]), reverse=True)
    return _Known(pattern=re.compile("|".join(body for _, body in alternatives)), names=names)


def find_merchant(normalized: str, folded: str) -> str | None:
    """A merchant named in the text: a known one first, else ``在X消费`` or ``at X`` (capitalised).

    ``normalized`` is the lower-cased text, ``folded`` the same text before lower-casing.
    """
    known = _known()
    match = known.pattern.search(normalized)
    if match is not None:
        return known.names[match.group(0).strip()]
    for zh in _ZH_AT.finditer(normalized):
        name = zh["name"].strip()
        if name and name not in _GENERIC_PLACES and not re.search(r"[我你他她的了吗呢卡钱]", name):
            return name
    for en in _EN_AT.finditer(folded):
        words = en["name"].split()
        while words and words[-1].lower().strip(".") in _NOT_MERCHANT_EN:
            words.pop()
        name = " ".join(words).strip(".")
        if name and name.lower() not in _NOT_MERCHANT_EN:
            return name
    return None


def canonical_merchant(name: str) -> str:
    """The known merchant a name or alias stands for (``Trip.com`` → ``携程``), else the name itself."""
    low = name.strip().lower()
    known = _known()
    if low in known.names:
        return known.names[low]
    match = known.pattern.search(low)
    return known.names[match.group(0).strip()] if match is not None else name.strip()
