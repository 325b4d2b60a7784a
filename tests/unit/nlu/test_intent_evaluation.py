"""``evals.intents``: dataset loading (ours and external) and the metrics, on a scripted understander."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from bot.nlu import IntentScore, Slots, Understanding
from evals.intents import (
    DatasetInvalid,
    IntentExample,
    UnmappedLabels,
    evaluate_intents,
    load_examples,
    load_external,
)


class ScriptedUnderstander:
    """Answers each text with the intent scripted for it."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.hints: list[str] = []

    def understand(
        self, text: str, *, locale_hint: str = "zh", today: dt.date | None = None
    ) -> Understanding:
        self.hints.append(locale_hint)
        intent = self.answers[text]
        return Understanding(
            text=text,
            language="zh" if locale_hint == "zh" else "en",
            is_mixed=False,
            intent=intent,
            confidence=0.9,
            alternatives=(IntentScore(intent=intent, score=0.9),),
            slots=Slots(),
            sentiment=0.0,
            frustration=0.0,
            urgency="normal",
            signals=frozenset(),
            is_affirmative=None,
        )


def test_evaluate_intents_computes_the_metrics() -> None:
    examples = [
        IntentExample(text="a", intent="billing.statement", language="en"),
        IntentExample(text="b", intent="billing.statement", language="en"),
        IntentExample(text="c", intent="out_of_scope", language="en"),
        IntentExample(text="d", intent="out_of_scope", language="zh"),
        IntentExample(text="e", intent="installment", language="zh"),
    ]
    fake = ScriptedUnderstander(
        {
            "a": "billing.statement",
            "b": "out_of_scope",
            "c": "out_of_scope",
            "d": "installment",
            "e": "installment",
        }
    )
    report = evaluate_intents(fake, examples)
    assert report["n"] == 5
    assert report["accuracy"] == 0.6
    assert report["in_scope_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["out_of_scope"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["per_intent"]["billing.statement"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "support": 2,
    }
    assert report["per_intent"]["installment"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": 0.6667,
        "support": 1,
    }
    assert report["macro_f1"] == pytest.approx((0.6667 + 0.5 + 0.6667) / 3, abs=1e-4)
    assert report["confusion"] == {
        "billing.statement": {"billing.statement": 1, "out_of_scope": 1},
        "installment": {"installment": 1},
        "out_of_scope": {"out_of_scope": 1, "installment": 1},
    }
    assert report["by_language"]["zh"]["accuracy"] == 0.5
    assert report["by_language"]["en"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert [e["text"] for e in report["errors"]] == ["b", "d"]
    assert fake.hints == ["en", "en", "en", "zh", "zh"]
    json.dumps(report)


def test_load_examples_takes_language_from_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "mine_en.yaml"
    path.write_text(yaml.safe_dump([{"text": "hi", "intent": "chitchat"}]), encoding="utf-8")
    assert load_examples(path) == [IntentExample(text="hi", intent="chitchat", language="en")]


@pytest.mark.parametrize(
    "content",
    [
        [{"text": "hi", "intent": "greeting"}],
        [{"text": "hi"}],
        [{"text": "hi", "intent": "chitchat", "extra": 1}],
        {"text": "hi", "intent": "chitchat"},
    ],
)
def test_load_examples_rejects_bad_datasets(tmp_path: Path, content: object) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    with pytest.raises(DatasetInvalid):
        load_examples(path)


def _external(tmp_path: Path, kind: str) -> Path:
    rows = [("my card is gone", "lost_card"), ("what's my balance", "balance"), ("tell me a joke", "joke")]
    path = tmp_path / f"external.{kind}"
    if kind == "csv":
        path.write_text("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows), encoding="utf-8")
    else:
        path.write_text(
            "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows), encoding="utf-8"
        )
    return path


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_load_external_maps_labels(tmp_path: Path, kind: str) -> None:
    label_map = tmp_path / "map.yaml"
    label_map.write_text(
        yaml.safe_dump(
            {"lost_card": "card.lost_stolen", "balance": "billing.statement", "joke": "out_of_scope"}
        ),
        encoding="utf-8",
    )
    examples = load_external(_external(tmp_path, kind), label_map)
    assert [(e.text, e.intent) for e in examples] == [
        ("my card is gone", "card.lost_stolen"),
        ("what's my balance", "billing.statement"),
        ("tell me a joke", "out_of_scope"),
    ]


def test_load_external_lists_unmapped_labels_or_drops_them(tmp_path: Path) -> None:
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"lost_card": "card.lost_stolen"}), encoding="utf-8")
    path = _external(tmp_path, "csv")
    with pytest.raises(UnmappedLabels) as caught:
        load_external(path, label_map)
    assert caught.value.labels == {"balance": 1, "joke": 1}
    assert "'balance' (1)" in str(caught.value)
    kept = load_external(path, label_map, drop_unmapped=True)
    assert [e.intent for e in kept] == ["card.lost_stolen"]


def test_load_external_rejects_a_map_to_unknown_intents(tmp_path: Path) -> None:
    label_map = tmp_path / "map.yaml"
    label_map.write_text(yaml.safe_dump({"lost_card": "cards.lost"}), encoding="utf-8")
    with pytest.raises(DatasetInvalid, match=r"cards\.lost"):
        load_external(_external(tmp_path, "csv"), label_map)


def test_load_external_without_a_map_needs_intent_ids(tmp_path: Path) -> None:
    path = tmp_path / "ours.jsonl"
    path.write_text(json.dumps({"text": "积分多少", "label": "rewards.points"}) + "\n", encoding="utf-8")
    assert load_external(path) == [IntentExample(text="积分多少", intent="rewards.points")]
    with pytest.raises(UnmappedLabels):
        load_external(_external(tmp_path, "jsonl"))


def test_load_external_rejects_rows_without_text(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("text,label\n,chitchat\n", encoding="utf-8")
    with pytest.raises(DatasetInvalid, match="row 1"):
        load_external(path)
