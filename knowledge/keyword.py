"""Keyword search: a bilingual analyzer (jieba words + CJK bigrams; English stems) and BM25 per locale.

bm25s's own tokenizer turns a whole Chinese sentence into one token, so text is analysed
here: Chinese runs go through jieba's search mode plus character bigrams (robust to words
jieba splits differently or typos that break a word); Latin runs are lower-cased, stripped
of stop words and lightly stemmed. The same analyzer runs on articles and on questions.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from knowledge.models import LOCALES

with warnings.catch_warnings():
    # jieba imports pkg_resources (deprecated) and has invalid escapes in old regexes; neither is ours.
    warnings.simplefilter("ignore")
    import jieba

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

ANALYZER_VERSION = 1

# Card and banking words jieba's general dictionary splits (它会把"盗刷"切成"被盗/刷").
DOMAIN_WORDS: tuple[str, ...] = (
    "盗刷", "分期", "挂失", "提额", "年费", "白金卡", "金卡", "普卡", "钻石卡", "最低还款", "最低还款额",
    "免息期", "宽限期", "账单日", "还款日", "到期还款日", "取现", "预借现金", "境外", "外币", "积分",
    "里程", "贵宾厅", "销卡", "激活", "补卡", "换卡", "自动还款", "临时额度", "固定额度", "永久额度",
    "争议交易", "手续费", "年化利率", "违约金", "滞纳金", "超限", "提前还款", "提前结清", "冻结",
    "礼宾", "旅行险", "意外险", "货币转换", "电子账单", "账单分期", "消费分期", "交易密码", "查询密码",
    "卡片", "额度", "可用额度", "信用额度", "外汇", "刷卡", "拒付", "退款", "人工客服", "投诉", "验证码",
    "附属卡", "新卡", "旧卡", "寄送", "快递", "免年费", "年费减免", "商户", "重复扣款", "未达账",
)  # fmt: skip

# Function words of questions; articles rarely hold them, so they only add noise.
EN_STOP_WORDS = frozenset(
    """
    a about am an and any are as at be because been being both but by can could did do does
    doing each for from had has have having he her here hers him his how i if in into is it its
    itself just let me my myself of on or our ours she should so some such than that the their
    theirs them then there these they this those through to too very was we were what when where
    which while who whom why will with would you your yours yourself hi hello thanks thank ok
    okay please want need get got know tell
    """.split()
)
ZH_STOP_WORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 么 嘛 哦 哈 我 我的 我们 你 您 您的 你们 你的 是 在 和 与 或 及 怎么 如何 怎样
    什么 请问 一下 能 能不能 可以 可不可以 要 想 会 就 都 也 还 这 那 这个 那个 个 有 一个 把 被 给 让
    对 为 从 到 上 下 里 中 时 时候 后 前 如果 因为 所以 但是 而 并 等 之 其 该 此 哪些 哪 啥 咋 咋办
    怎么办 多少 怎么样 是不是 有没有 请 帮 帮我 麻烦 谢谢 你好 您好 一些 现在 已经 还是 然后
    """.split()
)
# Tier names are cut out of a Chinese run whole, so that 白金卡 (platinum) never also yields 金卡 (gold).
TIER_TERMS: dict[str, str] = {
    "白金卡": "白金卡", "白金": "白金卡", "钻石卡": "钻石卡", "钻石": "钻石卡",
    "金卡": "金卡", "普卡": "普卡", "普通卡": "普卡", "经典卡": "普卡",
}  # fmt: skip
_TIER_TERM = re.compile("|".join(sorted(TIER_TERMS, key=len, reverse=True)))
# Particles dropped from a Chinese run before its bigrams are taken.
_PARTICLES = str.maketrans("", "", "的了吗呢吧啊呀么嘛哦哈")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SEGMENT = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:['’][a-z]+)?")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_HAS_WORD_CHAR = re.compile(rf"[{_CJK}a-zA-Z0-9]")


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def has_words(text: str) -> bool:
    """Whether ``text`` holds any letter, digit or Chinese character (emoji and punctuation do not count)."""
    return _HAS_WORD_CHAR.search(normalize(text)) is not None


def stem(word: str) -> str:
    """A light English stemmer: plurals, -ed, -ing, -ly, final e (charge/charges/charged/charging meet)."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes", "zes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if len(w) >= len(suffix) + 3 and w.endswith(suffix):
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiousl":
                w = w[:-1]
            break
    if len(w) > 5 and w.endswith("ly"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 4 and w.endswith("ll"):  # cancelled/canceled, travelling/traveling
        w = w[:-1]
    return w


_TOKENIZER: list[jieba.Tokenizer] = []  # one per process: the dictionary takes ~50 MB and half a second
_TOKENIZER_LOCK = threading.Lock()


def _tokenizer(cache_dir: Path | None) -> jieba.Tokenizer:
    """The process's initialised jieba tokenizer; the first caller's ``cache_dir`` keeps its cache file."""
    with _TOKENIZER_LOCK:
        if not _TOKENIZER:
            tokenizer = jieba.Tokenizer()
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(cache_dir)
            tokenizer.initialize()
            for word in DOMAIN_WORDS:
                tokenizer.add_word(word, freq=tokenizer.suggest_freq(word, tune=False) + 1000)
            _TOKENIZER.append(tokenizer)
        return _TOKENIZER[0]


class TextAnalyzer:
    """Tokens for BM25 from Chinese, English or mixed text.

    jieba's dictionary takes about half a second to load (once per process); call
    :meth:`ensure_ready` off the event loop first. Its cache file goes to ``cache_dir``
    (the var directory) rather than /tmp.
    """

    def __init__(self, *, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._jieba: jieba.Tokenizer | None = None

    def ensure_ready(self) -> None:
        """Load jieba's dictionary and the domain words (blocking, once)."""
        if self._jieba is None:
            self._jieba = _tokenizer(self._cache_dir)

    def tokens(self, text: str) -> list[str]:
        """The index or query tokens of ``text``."""
        self.ensure_ready()
        norm = normalize(text)
        out: list[str] = []
        for segment in _SEGMENT.findall(norm):
            if _CJK_RUN.fullmatch(segment):
                out.extend(TIER_TERMS[t] for t in _TIER_TERM.findall(segment))
                for piece in _TIER_TERM.split(segment):
                    out.extend(self._chinese(piece))
            else:
                word = segment.replace("’", "'").split("'")[0]
                if word and word not in EN_STOP_WORDS:
                    out.append(stem(word))
        return out

    def _chinese(self, run: str) -> list[str]:
        assert self._jieba is not None
        words = [w for w in self._jieba.lcut_for_search(run) if w not in ZH_STOP_WORDS]
        bare = run.translate(_PARTICLES)
        return words + [bare[i : i + 2] for i in range(len(bare) - 1)]


class KeywordIndex:
    """BM25 over documents of two languages, one bm25s index per locale.

    Scores come back as one vector over all documents in build order (zeros for the other
    locale's documents), so they line up with the caller's own tables.
    """

    def __init__(self, analyzer: TextAnalyzer, size: int, parts: dict[str, tuple[bm25s.BM25, np.ndarray]]):
        self._analyzer = analyzer
        self._size = size
        self._parts = parts

    @classmethod
    def build(cls, documents: Sequence[tuple[str, str]], analyzer: TextAnalyzer) -> KeywordIndex:
        """Index ``(locale, text)`` documents; positions in ``documents`` are the score positions."""
        parts: dict[str, tuple[bm25s.BM25, np.ndarray]] = {}
        for locale in LOCALES:
            rows = np.array([i for i, (loc, _) in enumerate(documents) if loc == locale], dtype=np.int64)
            if rows.size == 0:
                continue
            bm25 = bm25s.BM25(k1=1.2, b=0.75)
            bm25.index([analyzer.tokens(documents[i][1]) for i in rows], show_progress=False)
            parts[locale] = (bm25, rows)
        return cls(analyzer, len(documents), parts)

    def save(self, directory: Path) -> None:
        """Write every locale's index and row map under ``directory``."""
        for locale, (bm25, rows) in self._parts.items():
            bm25.save(str(directory / locale))
            (directory / locale / "rows.json").write_text(json.dumps(rows.tolist()), encoding="utf-8")
        (directory / "keyword.json").write_text(
            json.dumps(
                {"analyzer_version": ANALYZER_VERSION, "size": self._size, "locales": list(self._parts)}
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path, analyzer: TextAnalyzer) -> KeywordIndex:
        """Read an index written by :meth:`save`."""
        info = json.loads((directory / "keyword.json").read_text(encoding="utf-8"))
        if info.get("analyzer_version") != ANALYZER_VERSION:
            # Query tokens must be made the way the index's were.
            raise ValueError(
                f"built by analyzer {info.get('analyzer_version')!r}, this is {ANALYZER_VERSION}"
            )
        parts: dict[str, tuple[bm25s.BM25, np.ndarray]] = {}
        for locale in info["locales"]:
            bm25 = bm25s.BM25.load(str(directory / locale))
            rows = np.array(
                json.loads((directory / locale / "rows.json").read_text(encoding="utf-8")), dtype=np.int64
            )
            parts[locale] = (bm25, rows)
        return cls(analyzer, int(info["size"]), parts)

    @property
    def analyzer(self) -> TextAnalyzer:
        """The analyzer that built the index (queries must use the same)."""
        return self._analyzer

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query ``tokens`` (repeated tokens count again)."""
        out = np.zeros(self._size, dtype=np.float32)
        if not tokens:
            return out
        for bm25, rows in self._parts.values():
            out[rows] = bm25.get_scores(list(tokens))
        return out
