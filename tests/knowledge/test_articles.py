"""The knowledge-base articles: loader, layout, and every figure grounded in the fee schedule."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from knowledge.articles import (
    ARTICLES_DIR,
    INTENT_IDS,
    TOPICS,
    Article,
    ArticleError,
    check_article_figures,
    load_articles,
    parse_article,
    stated_figures,
)
from knowledge.fees import TIER_IDS, FeeSchedule, load_fee_schedule

ARTICLES = load_articles()
BY_KEY: dict[tuple[str, str], Article] = {(a.id, a.locale): a for a in ARTICLES}
IDS = sorted({a.id for a in ARTICLES})

REQUIRED_IDS = """
billing-cycle statement-delivery interest-free-period minimum-payment purchase-interest
late-payment-penalty repayment-grace-period payment-channels autopay over-limit bill-installment
purchase-installment installment-fees-apr installment-early-payoff apr-explained cash-advance
temporary-limit-increase permanent-limit-increase credit-limit-query card-activation lost-stolen-card
lost-card-protection card-replacement replacement-delivery pin-management card-declined
unrecognised-transactions merchant-disputes points-earning points-validity points-redemption
tier-classic-benefits tier-gold-benefits tier-platinum-benefits tier-diamond-benefits airport-lounge
travel-insurance concierge annual-fee-and-waivers foreign-transaction-fee using-card-abroad
apply-for-card card-cancellation profile-update service-hours complaints-handling security-never-ask
""".split()


def _article_id(article: Article) -> str:
    return f"{article.locale}/{article.id}"


def _article(article_id: str, locale: str) -> Article:
    return BY_KEY[(article_id, locale)]


def _d(value: str | int) -> Decimal:
    return Decimal(str(value))


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return load_fee_schedule()


# --- the shipped articles ----------------------------------------------------------------------


def test_articles_cover_every_required_topic_in_both_languages() -> None:
    assert len(IDS) >= 40
    assert set(REQUIRED_IDS) <= set(IDS)
    for article_id in IDS:
        assert (article_id, "zh") in BY_KEY, f"{article_id} has no zh version"
        assert (article_id, "en") in BY_KEY, f"{article_id} has no en version"
    assert len(ARTICLES) == 2 * len(IDS)


@pytest.mark.parametrize("article_id", IDS)
def test_articles_zh_and_en_share_their_metadata(article_id: str) -> None:
    zh, en = _article(article_id, "zh"), _article(article_id, "en")
    for field in ("topic", "intents", "tiers", "effective_date", "version", "example_figures"):
        assert getattr(zh, field) == getattr(en, field), field


@pytest.mark.parametrize("article", ARTICLES, ids=_article_id)
def test_article_metadata_uses_known_intents_topics_and_tiers(article: Article) -> None:
    assert article.intents and set(article.intents) <= INTENT_IDS
    assert article.topic in TOPICS
    assert article.tiers == ("all",) or set(article.tiers) <= set(TIER_IDS)
    assert article.path == ARTICLES_DIR / article.locale / f"{article.id}.md"
    assert article.content_hash == hashlib.sha256(article.path.read_bytes()).hexdigest()


def test_tier_specific_articles_name_their_tiers() -> None:
    for tier in TIER_IDS:
        assert _article(f"tier-{tier}-benefits", "en").tiers == (tier,)
    assert _article("lost-card-protection", "en").tiers == ("gold", "platinum", "diamond")
    assert _article("concierge", "en").tiers == ("diamond",)
    assert _article("airport-lounge", "en").tiers == ("platinum", "diamond")
    assert _article("billing-cycle", "en").tiers == ("all",)


@pytest.mark.parametrize("article", ARTICLES, ids=_article_id)
def test_article_length_and_sections_suit_chunking(article: Article) -> None:
    if article.locale == "en":
        size, low, high = len(re.findall(r"[A-Za-z0-9][\w'’.,-]*", article.body)), 150, 450
    else:
        size, low, high = len(re.findall(r"[\u4e00-\u9fff]", article.body)), 300, 900
    assert low <= size <= high, f"{size} words/characters"
    assert len(re.findall(r"^## \S", article.body, re.MULTILINE)) >= 2
    # Each section is retrieved alone, so none may lean on another.
    assert not re.search(r"as above|see above|如上|上文|上述内容", article.body)


@pytest.mark.parametrize("article", ARTICLES, ids=_article_id)
def test_article_figures_are_grounded_in_the_fee_schedule(article: Article, schedule: FeeSchedule) -> None:
    assert check_article_figures(article, schedule) == []


@pytest.mark.parametrize("article_id", IDS)
def test_zh_and_en_state_the_same_money_and_percent_figures(article_id: str) -> None:
    def money_and_percents(article: Article) -> set[tuple[str, Decimal]]:
        return {(f.kind, f.value) for f in stated_figures(article.body) if f.kind != "count"}

    assert money_and_percents(_article(article_id, "zh")) == money_and_percents(_article(article_id, "en"))


@pytest.mark.parametrize("article", ARTICLES, ids=_article_id)
def test_a_fee_rate_or_daily_rate_is_never_stated_without_its_annual_rate(
    article: Article, schedule: FeeSchedule
) -> None:
    # Retrieval serves one section at a time, so the annual rate must sit in the same section.
    plans = schedule.installment_plans()
    daily = schedule.dec("billing.purchase_daily_rate") * 100
    annual = schedule.dec("billing.purchase_annual_rate") * 100
    for section in re.split(r"^## ", article.body, flags=re.MULTILINE):
        percents = {f.value for f in stated_figures(section) if f.kind == "percent"}
        for fee in {p.fee_rate * 100 for p in plans} & percents:
            aprs = {p.apr * 100 for p in plans if p.fee_rate * 100 == fee}
            assert aprs & percents, f"fee rate {fee}% stated without its APR in: {section[:60]!r}"
        if daily in percents:
            assert annual in percents, f"daily rate stated without the annual rate in: {section[:60]!r}"


# --- worked examples: every example figure is an input or a result computed from the schedule ---


@dataclass(frozen=True, slots=True)
class WorkedExample:
    inputs: frozenset[Decimal]
    results: frozenset[tuple[str, Decimal]]  # (kind, value) the article must state


def _purchase_interest(s: FeeSchedule) -> WorkedExample:
    daily = s.dec("billing.purchase_daily_rate")
    assert daily * 365 == s.dec("billing.purchase_annual_rate")
    return WorkedExample(
        inputs=frozenset({_d(10000), _d(30), _d(365)}),
        results=frozenset({("money", 10000 * daily * 30)}),
    )


def _late_payment_penalty(s: FeeSchedule) -> WorkedExample:
    rate, low, high = (s.dec(f"billing.late_fee.{k}") for k in ("rate", "min", "max"))
    unpaid = [_d(1000), _d(100), _d(8000)]
    raw = {("money", u * rate) for u in unpaid}
    charged = {("money", min(max(u * rate, low), high)) for u in unpaid}
    results = raw | charged
    return WorkedExample(inputs=frozenset(unpaid), results=frozenset(results))


def _minimum_payment(s: FeeSchedule) -> WorkedExample:
    purchases = _d(8000)
    installment = _quote(s, 12)["payment"]
    minimum = purchases * s.dec("billing.min_payment_rate") + installment
    return WorkedExample(
        inputs=frozenset({purchases, _d(12000), _d(12), installment}),
        results=frozenset({("money", purchases * s.dec("billing.min_payment_rate")), ("money", minimum)}),
    )


def _installment_fees_apr(s: FeeSchedule) -> WorkedExample:
    principal, plan = s.dec("installments.example.principal"), s.installment_plan(3)
    part, fee = principal / plan.periods, principal * plan.fee_rate
    assert part + fee == _quote(s, 3)["payment"]
    return WorkedExample(
        inputs=frozenset({principal, _d(3)}),
        results=frozenset({("money", part), ("money", fee), ("money", part + fee)}),
    )


def _installment_early_payoff(s: FeeSchedule) -> WorkedExample:
    principal, plan, paid = s.dec("installments.example.principal"), s.installment_plan(12), 4
    part, fee = principal / plan.periods, principal * plan.fee_rate
    assert part + fee == _quote(s, 12)["payment"]
    remaining = principal - paid * part
    payoff_fee = remaining * s.dec("installments.early_payoff_fee_rate")
    periods_left = plan.periods - paid
    return WorkedExample(
        inputs=frozenset({principal, _d(12), _d(paid)}),
        results=frozenset({
            ("money", part), ("money", fee), ("money", part + fee), ("money", remaining),
            ("money", payoff_fee), ("money", remaining + payoff_fee), ("count", _d(periods_left)),
            ("money", periods_left * fee),
        }),
    )  # fmt: skip


def _apr_explained(s: FeeSchedule) -> WorkedExample:
    principal = s.dec("installments.example.principal")
    three, twelve = s.installment_plan(3), s.installment_plan(12)
    return WorkedExample(
        inputs=frozenset({principal, _d(3), _d(12)}),
        results=frozenset({
            ("money", principal * three.fee_rate),
            ("money", principal / three.periods),  # principal still owed in the third period
            ("percent", three.fee_rate * 100 * 12),
            ("percent", twelve.fee_rate * 100 * 12),
        }),
    )  # fmt: skip


def _cash_advance(s: FeeSchedule) -> WorkedExample:
    rate, low, daily = (s.dec(f"cash_advance.{k}") for k in ("fee_rate", "fee_min", "daily_rate"))
    amount, days, small, limit = _d(3000), _d(10), _d(500), _d(20000)
    fee, interest = max(amount * rate, low), amount * daily * days
    return WorkedExample(
        inputs=frozenset({amount, days, small, limit}),
        results=frozenset({
            ("money", fee), ("money", interest), ("money", fee + interest), ("money", small * rate),
            ("money", max(small * rate, low)), ("money", limit * s.dec("cash_advance.limit_ratio")),
        }),
    )  # fmt: skip


def _temporary_limit_increase(s: FeeSchedule) -> WorkedExample:
    limit, ratio = _d(20000), s.dec("credit_limit.temporary.max_increase_ratio")
    return WorkedExample(
        inputs=frozenset({limit}),
        results=frozenset({("money", limit * (1 + ratio)), ("money", limit * ratio)}),
    )


def _permanent_limit_increase(s: FeeSchedule) -> WorkedExample:
    limit = _d(20000)
    spend = limit * s.dec("credit_limit.permanent.min_avg_spend_ratio")
    new_limit = limit * (1 + s.dec("credit_limit.permanent.max_increase_ratio"))
    results = frozenset({("money", spend), ("money", new_limit)})
    return WorkedExample(inputs=frozenset({limit}), results=results)


def _credit_limit_query(s: FeeSchedule) -> WorkedExample:
    limit, owed, installment = _d(20000), _d(5000), _d(8000)
    return WorkedExample(
        inputs=frozenset({limit, owed, installment}),
        results=frozenset({("money", limit - owed - installment)}),
    )


def _points_earning(s: FeeSchedule) -> WorkedExample:
    spend = _d(2000)
    return WorkedExample(
        inputs=frozenset({spend}),
        results=frozenset({("count", spend * t.points_per_yuan) for t in s.tiers()}),
    )


def _points_redemption(s: FeeSchedule) -> WorkedExample:
    credit_points, mile_points = _d(40000), _d(15000)
    return WorkedExample(
        inputs=frozenset({credit_points, mile_points}),
        results=frozenset({
            ("money", credit_points / s.dec("points.statement_credit_points_per_yuan")),
            ("count", mile_points / s.dec("points.points_per_airline_mile")),
        }),
    )  # fmt: skip


def _foreign_transaction_fee(s: FeeSchedule) -> WorkedExample:
    spend = _d(1000)
    return WorkedExample(
        inputs=frozenset({spend}),
        results=frozenset({("money", spend * s.tier("classic").fx_fee_rate)}),
    )


def _quote(s: FeeSchedule, periods: int) -> dict[str, Decimal]:
    (quote,) = [q for q in s.get("installments.example.quotes") if q["periods"] == periods]
    return {"payment": _d(quote["payment"]), "total_fee": _d(quote["total_fee"])}


WORKED_EXAMPLES: dict[str, Callable[[FeeSchedule], WorkedExample]] = {
    "purchase-interest": _purchase_interest,
    "late-payment-penalty": _late_payment_penalty,
    "minimum-payment": _minimum_payment,
    "installment-fees-apr": _installment_fees_apr,
    "installment-early-payoff": _installment_early_payoff,
    "apr-explained": _apr_explained,
    "cash-advance": _cash_advance,
    "temporary-limit-increase": _temporary_limit_increase,
    "permanent-limit-increase": _permanent_limit_increase,
    "credit-limit-query": _credit_limit_query,
    "points-earning": _points_earning,
    "points-redemption": _points_redemption,
    "foreign-transaction-fee": _foreign_transaction_fee,
}


@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("article_id", sorted(WORKED_EXAMPLES))
def test_worked_example_states_results_computed_from_the_schedule(
    article_id: str, locale: str, schedule: FeeSchedule
) -> None:
    article = _article(article_id, locale)
    example = WORKED_EXAMPLES[article_id](schedule)
    stated = {(f.kind, f.value) for f in stated_figures(article.body)}
    missing = {r for r in example.results if r not in stated}
    assert not missing, f"{article.path} does not state {sorted(missing)}"
    stated_values = {value for _, value in stated}
    assert example.inputs <= stated_values
    # The only numbers an example may add are its own inputs and results.
    expected = (example.inputs | {value for _, value in example.results}) - schedule.figures()
    assert set(article.example_figures) == expected


def test_every_example_allowance_has_a_verified_worked_example() -> None:
    with_examples = {a.id for a in ARTICLES if a.example_figures}
    assert with_examples <= set(WORKED_EXAMPLES)


def test_installment_example_quotes_follow_from_the_plans(schedule: FeeSchedule) -> None:
    principal = schedule.dec("installments.example.principal")
    for plan in schedule.installment_plans():
        quote = _quote(schedule, plan.periods)
        assert principal / plan.periods + principal * plan.fee_rate == quote["payment"]
        assert principal * plan.fee_rate * plan.periods == quote["total_fee"]


def test_installment_apr_is_the_monthly_irr_times_twelve(schedule: FeeSchedule) -> None:
    principal = schedule.dec("installments.example.principal")
    for plan in schedule.installment_plans():
        payment = _quote(schedule, plan.periods)["payment"]
        low, high = Decimal(0), Decimal("0.1")
        for _ in range(80):  # bisection on the present value of the payments
            rate = (low + high) / 2
            present = sum(payment / (1 + rate) ** k for k in range(1, plan.periods + 1))
            low, high = (rate, high) if present > principal else (low, rate)
        assert (rate * 12).quantize(Decimal("0.0001")) == plan.apr, plan.periods


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_installment_table_article_states_every_plan_and_quote(locale: str, schedule: FeeSchedule) -> None:
    stated = {(f.kind, f.value) for f in stated_figures(_article("installment-fees-apr", locale).body)}
    for plan in schedule.installment_plans():
        quote = _quote(schedule, plan.periods)
        assert ("percent", plan.apr * 100) in stated
        assert ("percent", plan.fee_rate * 100) in stated
        assert ("money", quote["payment"]) in stated
        assert ("money", quote["total_fee"]) in stated


# --- the checker finds what is wrong --------------------------------------------------------------


def _mutated(article: Article, old: str, new: str) -> Article:
    text = article.path.read_text(encoding="utf-8")
    assert old in text
    return parse_article(text.replace(old, new, 1), article.path)


@pytest.mark.parametrize(
    ("article_id", "locale", "old", "new", "reported"),
    [
        ("late-payment-penalty", "en", "a maximum of ¥300", "a maximum of ¥350", "350"),
        ("late-payment-penalty", "zh", "最高300元", "最高350元", "350"),
        ("installment-fees-apr", "en", "| 12 | 14.31% |", "| 12 | 14.13% |", "14.13"),
        ("tier-gold-benefits", "zh", "年费为200元", "年费为250元", "250"),
        # 3 is a schedule figure (grace days) but not a schedule rate, so it fails as a percentage.
        ("late-payment-penalty", "en", "The late-payment fee is 5%", "The late-payment fee is 3%", "3%"),
    ],
)
def test_checker_reports_exactly_the_changed_figure(
    article_id: str, locale: str, old: str, new: str, reported: str, schedule: FeeSchedule
) -> None:
    article = _article(article_id, locale)
    problems = check_article_figures(_mutated(article, old, new), schedule)
    assert len(problems) == 1, problems
    assert reported in problems[0]
    assert str(article.path) in problems[0]


def test_checker_reports_a_wrong_worked_example_result(schedule: FeeSchedule) -> None:
    article = _mutated(_article("purchase-interest", "en"), "= ¥150.", "= ¥160.")
    problems = check_article_figures(article, schedule)
    assert any("160" in p and "does not hold" in p for p in problems)
    assert any("example figure 150 is not stated" in p for p in problems)


def test_checker_rejects_an_example_figure_the_schedule_already_holds(schedule: FeeSchedule) -> None:
    original = _article("purchase-interest", "en")
    article = _mutated(original, "example_figures: [10000,", "example_figures: [300, 10000,")
    (problem,) = check_article_figures(article, schedule)
    assert problem.startswith(f"{article.path}: example figure 300 is a fee-schedule figure")


def test_checker_reports_service_hours_the_schedule_does_not_hold(schedule: FeeSchedule) -> None:
    article = _mutated(_article("service-hours", "en"), "available 08:00–22:00", "available 09:00–22:00")
    problems = check_article_figures(article, schedule)
    assert len(problems) == 1
    assert "'09:00'" in problems[0]


# --- stated_figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a fee of ¥1,000", [("money", "1000")]),
        ("年费1000元", [("money", "1000")]),
        ("1,000 yuan or CNY 30", [("money", "1000"), ("money", "30")]),
        ("最高300元，最低10元", [("money", "300"), ("money", "10")]),
        ("保额10万元、1000万元", [("money", "100000"), ("money", "10000000")]),
        ("50,000积分或2万积分", [("count", "50000"), ("count", "20000")]),
        ("APR 13.45%, 0.75% per period", [("percent", "13.45"), ("percent", "0.75")]),
        ("按百分之五收取", [("percent", "5")]),
        ("三个工作日内，十五日", [("count", "3"), ("count", "15")]),
        ("within three business days, twelve months", [("count", "3"), ("count", "12")]),
        ("the 5th, 15th or 25th", [("count", "5"), ("count", "15"), ("count", "25")]),
        ("20 to 50 days; 5-7 business days", [("count", c) for c in ("20", "50", "5", "7")]),
    ],
)
def test_stated_figures_reads_every_figure_form(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.kind, f.value) for f in stated_figures(text)] == [(k, Decimal(v)) for k, v in expected]


@pytest.mark.parametrize(
    "text",
    [
        "the CVV2 code",
        "agents 08:00–22:00",
        "freeze it 24/7, or 7×24小时",
        "effective 2026-01-01",
        "1. Freeze the card\n2. Report it",
        "千万不要告诉别人",
    ],
)
def test_stated_figures_ignores_digits_that_state_no_figure(text: str) -> None:
    assert stated_figures(text) == []


def test_stated_figures_keeps_the_span_and_position() -> None:
    text = "the fee is ¥1,000 a year"
    (figure,) = stated_figures(text)
    assert figure.span == "¥1,000"
    assert text[figure.start :].startswith("¥1,000")


# --- loader --------------------------------------------------------------------------------------


def _text(**overrides: str) -> str:
    meta = {
        "id": "billing-cycle",
        "locale": "en",
        "title": "Your billing cycle",
        "topic": "billing",
        "intents": "[billing.statement]",
        "tiers": "[all]",
        "effective_date": "2026-01-01",
        "version": "1",
    } | overrides
    front = "\n".join(f"{k}: {v}" for k, v in meta.items() if v != "<drop>")
    return f"---\n{front}\n---\n\n# {meta['title']}\n\n## Statement day\n\nThe statement day is the 5th.\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_article_reads_front_matter_and_body() -> None:
    article = parse_article(_text(intents="[billing.statement, profile.update]"), Path("en/billing-cycle.md"))
    assert article.intents == ("billing.statement", "profile.update")
    assert article.tiers == ("all",)
    assert article.effective_date.isoformat() == "2026-01-01"
    assert article.body.startswith("# Your billing cycle\n")
    assert article.example_figures == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_text(intents="[billing.nope]"), "unknown intent ids 'billing.nope'"),
        (_text(tiers="[gold, titanium]"), "unknown tiers 'titanium'"),
        (_text(tiers="[all, gold]"), "'all' cannot be combined"),
        (_text(locale="fr"), "locale must be one of zh, en"),
        (_text(version="<drop>"), "missing version"),
        (_text(effective_date="2026-13-01"), "not valid YAML"),
        (_text(effective_date="soon"), "effective_date must be a date"),
        (_text(topic="weather"), "unknown topic 'weather'"),
        (_text(colour="blue"), "unknown keys colour"),
        (_text(example_figures="[ten]"), "non-number 'ten'"),
        (_text().split("\n# ")[0], "empty body"),
        (_text().replace("# Your billing cycle", "Your billing cycle"), "must start with a '# ' title"),
        (_text().replace("# Your billing cycle", "# Billing"), "differs from the front-matter title"),
        (_text().replace("---\n", "", 1), "no front matter"),
        (_text(intents="[billing.statement"), "not valid YAML"),
    ],
)
def test_parse_article_names_the_file_and_the_problem(text: str, problem: str) -> None:
    path = Path("content/articles/en/billing-cycle.md")
    with pytest.raises(ArticleError) as caught:
        parse_article(text, path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)
    assert caught.value.path == path


def test_load_articles_rejects_broken_front_matter_naming_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "en" / "autopay.md", _text(id="autopay", title="Autopay"))
    broken = _write(tmp_path / "en" / "billing-cycle.md", _text(intents="[billing.statement"))
    with pytest.raises(ArticleError, match=re.escape(str(broken))):
        load_articles(tmp_path)


def test_load_articles_rejects_a_duplicate_id_naming_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "billing" / "en" / "billing-cycle.md", _text())
    second = _write(tmp_path / "cards" / "en" / "billing-cycle.md", _text())
    with pytest.raises(ArticleError) as caught:
        load_articles(tmp_path)
    assert str(first) in str(caught.value)
    assert str(second) in str(caught.value)
    assert "duplicate id 'billing-cycle'" in str(caught.value)


def test_load_articles_rejects_a_file_in_the_wrong_locale_folder(tmp_path: Path) -> None:
    wrong = _write(tmp_path / "zh" / "billing-cycle.md", _text())
    with pytest.raises(ArticleError, match=re.escape(f"{wrong}: locale 'en' but the folder is 'zh'")):
        load_articles(tmp_path)


def test_load_articles_rejects_a_file_not_named_after_its_id(tmp_path: Path) -> None:
    wrong = _write(tmp_path / "en" / "cycle.md", _text())
    with pytest.raises(ArticleError, match=re.escape(f"{wrong}: id 'billing-cycle'")):
        load_articles(tmp_path)


def test_load_articles_sorts_by_path_and_hashes_the_file_bytes(tmp_path: Path) -> None:
    zh = _write(tmp_path / "zh" / "billing-cycle.md", _text(locale="zh", title="账单周期"))
    en = _write(tmp_path / "en" / "billing-cycle.md", _text())
    loaded = load_articles(tmp_path)
    assert [a.path for a in loaded] == [en, zh]
    assert loaded[1].content_hash == hashlib.sha256(zh.read_bytes()).hexdigest()


def test_load_articles_rejects_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no such articles folder"):
        load_articles(tmp_path / "absent")
