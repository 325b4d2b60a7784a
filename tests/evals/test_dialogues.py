"""The dialogue scenario format, and scenarios run over the real sockets of a live server."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from evals.suites import dialogues
from evals.suites.dialogues import ScenarioError, load_file, load_scenarios


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_scenarios_load_cover_both_languages_and_every_family() -> None:
    scenarios = load_scenarios()
    assert len(scenarios) >= 60
    langs = {lang: sum(s.language == lang for s in scenarios) for lang in ("zh", "en")}
    assert min(langs.values()) >= 0.4 * len(scenarios)
    assert {s.group for s in scenarios} == {"flows", "handoff", "knowledge", "account", "robustness"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("group: flows\nscenarios: [\n", "cannot read YAML"),
        ("- just a list\n", "expected a mapping"),
        (
            "group: flows\nscenarios:\n  - id: x\n    locale: zh-CN\n    customer: C001\n    description: d\n"
            "    turns:\n      - say: hi\n        click: {action_id: a}\n",
            "exactly one of say, click, rate, agent",
        ),
        (
            "group: flows\nscenarios:\n  - id: x\n    locale: fr-FR\n    customer: C001\n    description: d\n"
            "    turns: [{say: hi}]\n",
            "locale",
        ),
        (
            "group: flows\nscenarios:\n  - id: x\n    locale: zh-CN\n    customer: C001\n    description: d\n"
            "    turns: [{say: hi, expect_intnet: chitchat}]\n",
            "expect_intnet",
        ),
        (
            "group: flows\nscenarios:\n  - id: x\n    locale: zh-CN\n    customer: C404\n    description: d\n"
            "    turns: [{say: hi}]\n",
            "unknown demo customer 'C404'",
        ),
    ],
)
def test_loader_rejects_a_malformed_file_naming_it(tmp_path: Path, body: str, problem: str) -> None:
    path = write(tmp_path, "broken.yaml", body)
    with pytest.raises(ScenarioError) as err:
        load_file(path, {"C001"})
    assert str(path) in str(err.value) and problem in str(err.value)


def test_loader_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    one = (
        "group: a\nscenarios:\n"
        "  - {id: same, locale: zh-CN, customer: C001, description: d, turns: [{say: hi}]}\n"
    )
    write(tmp_path, "a.yaml", one)
    write(tmp_path, "b.yaml", one.replace("group: a", "group: b"))
    with pytest.raises(ScenarioError, match=r"b\.yaml: scenario id 'same' is also used in a\.yaml"):
        load_scenarios(tmp_path, {"C001"})


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared cache of eval servers, with the session's prebuilt hash index."""
    path = tmp_path_factory.getbasetemp() / "evals-cache"
    template = os.environ.get("CARDCARE_TEST_INDEX_TEMPLATE")
    if template and not (path / "index-hash").exists():
        shutil.copytree(template, path / "index-hash")
    return path


SCENARIOS = """
group: tiny
scenarios:
  - id: points-right
    locale: zh-CN
    customer: C001
    description: the points balance
    turns:
      - say: 我有多少积分
        expect_intent: rewards.points
        expect_handled: account
        expect_text_contains: ["48,600"]
  - id: points-wrong
    locale: zh-CN
    customer: C001
    description: the same question with a deliberately wrong expectation
    turns:
      - say: 我有多少积分
        expect_handled: knowledge
        expect_text_contains: ["99,999"]
    expect_side_effects:
      card_status: frozen
  - id: person
    locale: en-US
    customer: C009
    description: a person is asked for; the agent gets the context, answers and closes
    turns:
      - say: agent please
        expect_handoff: {priority: 3, reason: customer_request}
      - agent: {say: "Hello, I can help."}
        expect_text_contains: [I can help]
      - agent: {close: resolved}
      - rate: 5
        expect_handled: csat
    expect_context: {reason: customer_request, priority: 3}
"""


async def test_scenarios_run_over_the_sockets_and_a_wrong_expectation_fails_with_its_message(
    tmp_path: Path, cache: Path
) -> None:
    scenarios = load_file(write(tmp_path, "tiny.yaml", SCENARIOS), {"C001", "C009"})
    outcomes = await dialogues.run_scenarios(scenarios, var_dir=tmp_path / "var", cache=cache)
    by_id = {o.scenario.id: o for o in outcomes}
    assert by_id["points-right"].passed, by_id["points-right"].failures
    assert by_id["person"].passed, by_id["person"].failures
    wrong = by_id["points-wrong"]
    assert not wrong.passed
    assert "turn 1: handled 'account', expected knowledge" in wrong.failures
    assert any(f.startswith("turn 1: text has none of ['99,999']") for f in wrong.failures)
    assert "side effects: card status 'active', expected 'frozen'" in wrong.failures
    assert ("customer", "我有多少积分") in wrong.transcript
    assert any(who == "agent 陈静" and "I can help" in text for who, text in by_id["person"].transcript)

    result = dialogues.build_result(outcomes)
    assert result.summary["scenarios"] == 3 and result.summary["passed"] == 2
    assert result.summary["pass_rate_zh"] == 0.5 and result.summary["pass_rate_en"] == 1.0
    assert [f["scenario"] for f in result.failures] == ["points-wrong"]
    assert any(s.title.startswith("FAIL points-wrong") and "Transcript:" in s.text for s in result.sections)
