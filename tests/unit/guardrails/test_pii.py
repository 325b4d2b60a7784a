"""PII detection, validation and masking: examples and properties."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.guardrails import SECRET_TOKEN, contains_secret, find_pii, mask_card_number, redact
from bot.guardrails.checksums import id_check_char, luhn_valid, resident_id_valid
from tests.unit.guardrails.generators import (
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    DETERMINISTIC,
    cn_mobiles,
    formatted_pans,
    group,
    near_miss_pans,
    pans,
    resident_ids,
)

TODAY = date(2026, 6, 1)


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_pii(text, today=TODAY)]


# ---------------------------------------------------------------------------
# card numbers


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "卡号6222021234567890128",
        "my amex 378282246310005",
        "４１１１　１１１１　１１１１　１１１１",
    ],
)
def test_find_pii_finds_card_number_when_luhn_valid_and_scheme_prefix(text: str) -> None:
    assert kinds(text) == ["card_number"]


def test_find_pii_ignores_luhn_valid_number_without_scheme_or_card_context() -> None:
    # 1234567890123452 passes Luhn, but no scheme starts with 1 and nothing says "card".
    assert luhn_valid("1234567890123452")
    assert kinds("订单号 1234567890123452") == []


def test_find_pii_ignores_card_digits_inside_a_longer_digit_run() -> None:
    assert kinds("reference 94111111111111111123") == []


def test_find_pii_reports_account_number_when_not_a_card_but_account_context() -> None:
    assert kinds("收款账号 6222 0212 3456 7890 123") == ["bank_account"]
    assert kinds("account number 9558801001234567890") == ["bank_account"]


def test_mask_card_number_keeps_last_four_only() -> None:
    assert mask_card_number("4111-1111-1111-1234") == "**** **** **** 1234"
    with pytest.raises(ValueError, match="four digits"):
        mask_card_number("12")


def test_redact_masks_card_and_deletes_expiry_and_cvv_that_follow_it() -> None:
    result = redact("card 4111 1111 1111 1111 12/27 123 please", today=TODAY)
    assert result.text == f"card **** **** **** 1111 {SECRET_TOKEN} {SECRET_TOKEN} please"
    assert [f.kind for f in result.findings] == ["card_number", "card_expiry", "cvv"]
    assert result.has_secret


@given(formatted_pans(), st.sampled_from(CONTEXT_BEFORE), st.sampled_from(CONTEXT_AFTER))
@DETERMINISTIC
def test_find_pii_finds_every_generated_valid_pan(pan: tuple[str, str], before: str, after: str) -> None:
    digits, typed = pan
    text = before + typed + after
    findings = find_pii(text, today=TODAY)
    expected = (
        {"card_number", "cn_resident_id"} if resident_id_valid(digits, today=TODAY) else {"card_number"}
    )
    assert len(findings) == 1
    assert findings[0].kind in expected
    assert text[findings[0].start : findings[0].end] == typed
    assert redact(text, today=TODAY).text == before + findings[0].masked + after


@given(formatted_pans(), st.sampled_from(CONTEXT_BEFORE), st.sampled_from(CONTEXT_AFTER))
@DETERMINISTIC
def test_redact_never_leaves_five_consecutive_digits_of_a_pan(
    pan: tuple[str, str], before: str, after: str
) -> None:
    digits, typed = pan
    masked = re.sub(r"[ -]", "", redact(before + typed + after, today=TODAY).text)
    assert not any(digits[i : i + 5] in masked for i in range(len(digits) - 4))


@given(near_miss_pans(), st.sampled_from(CONTEXT_BEFORE), st.sampled_from(CONTEXT_AFTER))
@DETERMINISTIC
def test_find_pii_does_not_call_a_luhn_invalid_near_miss_a_card(number: str, before: str, after: str) -> None:
    assert not luhn_valid(number)
    assert "card_number" not in kinds(before + number + after)


# ---------------------------------------------------------------------------
# resident IDs


def test_find_pii_finds_resident_id_with_x_check_character() -> None:
    result = redact("身份证11010519491231002X", today=TODAY)
    assert result.text == "身份证**************002X"
    assert result.findings[0].is_validated


@given(resident_ids(), st.sampled_from(["", "身份证号 ", "ID: ", "证件号码是"]))
@DETERMINISTIC
def test_find_pii_finds_every_generated_resident_id(value: str, before: str) -> None:
    findings = find_pii(before + value + "。", today=TODAY)
    assert [f.kind for f in findings] in (["cn_resident_id"], ["card_number"])
    assert findings[0].masked.endswith(value[-4:])


@given(resident_ids(), st.integers(0, 9))
@DETERMINISTIC
def test_find_pii_rejects_resident_id_with_wrong_check_character(value: str, shift: int) -> None:
    chars = "0123456789X"
    wrong = chars[(chars.index(value[-1]) + 1 + shift) % len(chars)]
    assert "cn_resident_id" not in kinds("身份证 " + value[:-1] + wrong)


def test_find_pii_rejects_resident_id_with_impossible_or_future_birth_date() -> None:
    impossible = "11010519900230012"  # 1990-02-30
    future = "11010520261231001"  # born after TODAY
    for body in (impossible, future):
        assert "cn_resident_id" not in kinds("身份证 " + body + id_check_char(body))


def test_find_pii_needs_context_for_legacy_fifteen_digit_id() -> None:
    assert kinds("身份证 110105491231002") == ["cn_resident_id"]
    assert kinds("编号 110105491231002") == []


# ---------------------------------------------------------------------------
# secrets


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my CVV is 456", "cvv"),
        ("123 is my cvv", "cvv"),
        ("卡背面后三位是 789", "cvv"),
        ("安全码：0123", "cvv"),
        ("PIN 1234", "pin"),
        ("我的密码是 888888", "pin"),
        ("验证码是483920，请尽快", "otp"),
        ("the code we sent is 552211", "otp"),
        ("password: hunter2x", "password"),
        ("有效期 12/27", "card_expiry"),
    ],
)
def test_find_pii_finds_secret_value_next_to_its_word(text: str, kind: str) -> None:
    found = find_pii(text, today=TODAY)
    assert [f.kind for f in found] == [kind]
    assert found[0].is_secret
    assert contains_secret(text)
    assert SECRET_TOKEN in redact(text, today=TODAY).text


@pytest.mark.parametrize(
    "text",
    [
        "我们不会索要您的CVV",
        "密码错了3次被锁了",
        "验证码60秒内有效",
        "尾号1234的卡，CVV在哪里看？",
        "PIN码是6位数字",
        "What is a CVV?",
        "my password is not working",
        "验证码发到尾号8000的手机了吗",
    ],
)
def test_contains_secret_is_false_without_a_value(text: str) -> None:
    assert not contains_secret(text)


# ---------------------------------------------------------------------------
# phones and e-mail


@given(cn_mobiles(), st.sampled_from(["", "手机 ", "call me at ", "电话："]))
@DETERMINISTIC
def test_find_pii_finds_every_generated_cn_mobile(mobile: tuple[str, str], before: str) -> None:
    digits, typed = mobile
    findings = find_pii(before + typed + " 谢谢", today=TODAY)
    assert [f.kind for f in findings] == ["cn_mobile"]
    assert findings[0].masked.endswith(f"{digits[:3]}****{digits[-4:]}")


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("座机 010-62345678", "cn_landline", "010-****5678"),
        ("0755 86543210 是我家电话", "cn_landline", "0755-****3210"),
        ("call +44 20 7946 0958", "phone", "+44 ****0958"),
        ("or (415) 555-2671", "phone", "(***) ***-2671"),
        ("mail zhang.san@example.com", "email", "z***@example.com"),
    ],
)
def test_find_pii_masks_phones_and_email(text: str, kind: str, masked: str) -> None:
    (finding,) = find_pii(text, today=TODAY)
    assert (finding.kind, finding.masked) == (kind, masked)


def test_find_pii_leaves_dates_amounts_and_service_numbers_alone() -> None:
    assert kinds("2026-12-05 还款 ¥1,079.20，客服热线 95588，时间 08:00-22:00") == []


# ---------------------------------------------------------------------------
# idempotence and offsets

_FRAGMENTS = st.sampled_from(
    [
        "卡号 ", "card ", "CVV ", "cvv is ", "PIN ", "密码是", "验证码", "身份证", "account number ",
        "尾号", "ending ", "+86 ", "0086", "-", " ", "，", ".", "/", "*", "@", "x", "X", "mail ",
        "[redacted]", "12/27", "2026-12-05",
    ]
)  # fmt: skip
_PIECES = st.one_of(
    _FRAGMENTS,
    pans(),
    pans().map(lambda d: group(d, " ")),
    resident_ids(),
    cn_mobiles().map(lambda m: m[1]),
    st.text(alphabet="0123456789", min_size=1, max_size=8),
    st.emails().map(lambda e: e if e.isascii() else "a@b.cn"),
)


@given(st.lists(_PIECES, max_size=16).map("".join))
@settings(DETERMINISTIC, max_examples=500)
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text, today=TODAY).text
    assert redact(once, today=TODAY).text == once


@given(st.lists(_PIECES, max_size=8).map("".join))
@DETERMINISTIC
def test_find_pii_returns_ordered_disjoint_spans_inside_the_text(text: str) -> None:
    findings = find_pii(text, today=TODAY)
    previous_end = 0
    for f in findings:
        assert previous_end <= f.start < f.end <= len(text)
        previous_end = f.end


def test_find_pii_reports_spans_in_original_offsets_after_normalisation() -> None:
    text = "卡号：４１１１　１１１１　１１１１　１１１１。"
    (finding,) = find_pii(text, today=TODAY)
    assert text[finding.start : finding.end] == "４１１１　１１１１　１１１１　１１１１"


def test_find_pii_sees_through_zero_width_characters() -> None:
    assert kinds("C\u200bV\u200bV 456") == ["cvv"]
