"""The eval command line: parsing, thresholds and exit status, --json, self-contained reports."""

from __future__ import annotations

import argparse
import json
import re
import types
from pathlib import Path

import pytest

from evals.cli import add_eval_commands, main
from evals.report import Threshold, check_thresholds, load_thresholds


def _run(tmp_path: Path, *args: str, thresholds: str = "") -> int:
    table = tmp_path / "thresholds.toml"
    table.write_text(thresholds, encoding="utf-8")
    return main(
        [
            "eval",
            *args,
            "--out",
            str(tmp_path / "reports"),
            "--var-dir",
            str(tmp_path / "var"),
            "--thresholds",
            str(table),
            "--quiet",
        ]
    )


def test_cli_exits_zero_when_every_figure_meets_its_threshold(
    tmp_path: Path, fake_suite: types.ModuleType
) -> None:
    assert _run(tmp_path, "fake", "--min-accuracy_zh", "0.85") == 0


def test_cli_exits_nonzero_when_a_figure_misses_a_command_line_minimum(
    tmp_path: Path, fake_suite: types.ModuleType
) -> None:
    assert _run(tmp_path, "fake", "--min-accuracy_zh", "0.92") == 1
    assert _run(tmp_path, "fake", "--min-accuracy_zh=0.95") == 1


def test_cli_exits_nonzero_when_a_figure_exceeds_a_maximum_from_the_thresholds_file(
    tmp_path: Path, fake_suite: types.ModuleType
) -> None:
    assert _run(tmp_path, "fake", thresholds="[fake]\nmax_violations = 0\n") == 1
    assert _run(tmp_path, "fake", thresholds="[fake]\nmax_violations = 1\naccuracy_zh = 0.9\n") == 0


def test_cli_threshold_overrides_the_file_for_the_same_figure(
    tmp_path: Path, fake_suite: types.ModuleType
) -> None:
    assert _run(tmp_path, "fake", "--max-violations", "3", thresholds="[fake]\nmax_violations = 0\n") == 0


def test_cli_fails_when_a_threshold_names_a_figure_the_suite_does_not_report(
    tmp_path: Path, fake_suite: types.ModuleType
) -> None:
    assert _run(tmp_path, "fake", "--min-recall_at_5", "0.5") == 1


def test_cli_reports_a_crashing_suite_as_an_error_and_fails(
    tmp_path: Path, crashing_suite: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "crashing") == 1
    assert "the suite broke" in capsys.readouterr().err
    report = json.loads(next((tmp_path / "reports").glob("crashing-*.json")).read_text(encoding="utf-8"))
    assert report["status"] == "error"


def test_json_prints_exactly_one_object_on_stdout(
    tmp_path: Path, fake_suite: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tmp_path, "fake", "--json")
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert doc["accuracy_zh"] == 0.9
    assert doc["violations"] == 1


def test_html_report_is_self_contained(tmp_path: Path, fake_suite: types.ModuleType) -> None:
    _run(tmp_path, "fake", "--min-accuracy_zh", "0.95")
    html = next((tmp_path / "reports").glob("fake-*.html")).read_text(encoding="utf-8")
    assert '<img alt="A plot" src="data:image/png;base64,' in html
    assert not re.search(r"https?://", html)
    assert "<script" not in html and "<link" not in html
    assert "<style>" in html
    for shown in (
        "accuracy_zh",
        "≥ 0.95",
        "FAIL",
        "Machine",
        "visit http&#58;//phish.example now",
        "Dict rows",
    ):
        assert shown in html


def test_json_report_holds_summary_thresholds_and_machine(
    tmp_path: Path, fake_suite: types.ModuleType
) -> None:
    _run(tmp_path, "fake", "--min-accuracy_zh", "0.5")
    doc = json.loads(next((tmp_path / "reports").glob("fake-*.json")).read_text(encoding="utf-8"))
    assert doc["summary"]["accuracy_zh"] == 0.9
    assert doc["thresholds"] == [
        {
            "figure": "accuracy_zh",
            "bound": "min",
            "limit": 0.5,
            "value": 0.9,
            "passed": True,
            "source": "command line",
            "note": "",
        }
    ]
    assert doc["machine"]["cpus"] >= 1
    assert doc["sections"][1]["columns"] == ["group", "rate"]


def test_add_eval_commands_registers_eval_and_the_bench_alias() -> None:
    parser = argparse.ArgumentParser(prog="cardcare")
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["eval", "answers", "--small", "--engine", "llm", "--min-cites_right_article", "0.9"]
    )
    assert (args.suite, args.small, args.engine) == ("answers", True, "llm")
    assert args.cli_thresholds == [
        Threshold(figure="cites_right_article", bound="min", limit=0.9, source="command line")
    ]
    bench = parser.parse_args(["bench", "--small", "--sessions", "20", "--json"])
    assert (bench.suite, bench.sessions, bench.json) == ("bench", 20, True)
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "nonsense"])


def test_shipped_thresholds_file_parses_and_names_known_suites() -> None:
    table = load_thresholds()
    assert set(table) <= {"intents", "retrieval", "answers", "dialogues", "redteam", "service", "bench"}
    assert Threshold(figure="violations", bound="max", limit=0.0) in table["redteam"]


def test_a_nan_figure_fails_its_threshold() -> None:
    checks = check_thresholds({"rate": float("nan")}, [Threshold(figure="rate", bound="min", limit=0.0)])
    assert not checks[0].passed
