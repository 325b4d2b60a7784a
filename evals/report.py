"""What a suite receives and returns, threshold checks, and the JSON + HTML reports.

A suite is a module in ``evals/suites/`` with ``NAME``, ``DESCRIPTION`` and
``async def run(ctx: SuiteContext) -> SuiteResult``. The CLI builds the context, runs the
suite, checks its headline figures (``SuiteResult.summary``) against the thresholds and
writes ``<suite>-<timestamp>.json`` and a self-contained ``<suite>-<timestamp>.html``
(inline CSS, plots as base64 PNG, nothing fetched from the network).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import math
import os
import platform
import subprocess
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Engine = Literal["offline", "llm"]
Progress = Callable[[int, int, str], None]
THRESHOLDS_PATH = Path(__file__).parent / "thresholds.toml"


def _no_progress(done: int, total: int, label: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(slots=True, kw_only=True)
class SuiteContext:
    """How a suite should run: size, engine, where it may write, progress, its CLI options."""

    small: bool = False
    engine: Engine = "offline"
    var_dir: Path = Path("var/evals")
    progress: Progress = _no_progress
    options: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        """A suite option, ``default`` when it was not given (or given as None)."""
        value = self.options.get(name)
        return default if value is None else value


@dataclass(slots=True, kw_only=True)
class Section:
    """A titled block of the report: a paragraph and/or a table.

    ``rows`` are lists (under ``columns``) or mappings (their keys make the columns).
    """

    title: str
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[Any] | None = None

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Columns and rows as lists, whichever way the rows were given."""
        rows = list(self.rows or [])
        if rows and all(isinstance(r, Mapping) for r in rows):
            columns = list(self.columns)
            for row in rows:
                columns.extend(k for k in row if k not in columns)
            return columns, [[row.get(c, "") for c in columns] for row in rows]
        return list(self.columns), [list(r) for r in rows]


@dataclass(slots=True, kw_only=True)
class Plot:
    """A chart: a matplotlib ``Figure`` or ready PNG bytes."""

    title: str
    figure: Any = None
    png: bytes | None = None

    def png_bytes(self) -> bytes:
        """The chart as PNG (rendered once, then kept)."""
        if self.png is None:
            assert self.figure is not None, f"plot {self.title!r} has neither a figure nor PNG bytes"
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
            self.png = buffer.getvalue()
        return self.png


@dataclass(slots=True, kw_only=True)
class SuiteResult:
    """What a suite found. ``summary`` holds the headline figures (flat keys like ``accuracy_zh``)."""

    summary: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = True
    skipped: str | None = None  # why the suite could not run here (no LLM endpoint, ...)


# -- thresholds -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """``figure`` must be at least (``min``) or at most (``max``) ``limit``."""

    figure: str
    bound: Literal["min", "max"]
    limit: float
    source: str = "thresholds.toml"

    def describe(self) -> str:
        return f"{'≥' if self.bound == 'min' else '≤'} {_fmt(self.limit)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One threshold applied to one run."""

    threshold: Threshold
    value: Any
    passed: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        t = self.threshold
        return {
            "figure": t.figure,
            "bound": t.bound,
            "limit": t.limit,
            "value": self.value,
            "passed": self.passed,
            "source": t.source,
            "note": self.note,
        }


def parse_threshold_key(key: str, limit: float, source: str) -> Threshold:
    """``max_violations`` → at most; ``min_recall`` or ``recall`` → at least."""
    if key.startswith("max_"):
        return Threshold(figure=key[4:], bound="max", limit=float(limit), source=source)
    return Threshold(figure=key.removeprefix("min_"), bound="min", limit=float(limit), source=source)


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, list[Threshold]]:
    """``[suite]`` tables of ``figure = minimum`` / ``max_figure = maximum``."""
    if not path.exists():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[Threshold]] = {}
    for suite, table in raw.items():
        if not isinstance(table, dict):
            raise ValueError(f"{str(path)!r}: [{suite}] must be a table of figure = limit")
        for key, limit in table.items():
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise ValueError(f"{str(path)!r}: {suite}.{key} must be a number")
            out.setdefault(suite, []).append(parse_threshold_key(key, limit, path.name))
    return out


def merge_thresholds(base: Sequence[Threshold], overrides: Sequence[Threshold]) -> list[Threshold]:
    """``overrides`` replace base thresholds on the same figure and bound."""
    keys = {(t.figure, t.bound) for t in overrides}
    return [t for t in base if (t.figure, t.bound) not in keys] + list(overrides)


def check_thresholds(summary: Mapping[str, Any], thresholds: Sequence[Threshold]) -> list[Check]:
    """Each threshold against the summary; a figure the suite did not report fails."""
    checks: list[Check] = []
    for t in thresholds:
        value = summary.get(t.figure)
        if isinstance(value, bool) or not isinstance(value, int | float):
            checks.append(Check(threshold=t, value=value, passed=False, note="figure not reported"))
            continue
        if math.isnan(value):
            checks.append(Check(threshold=t, value=value, passed=False, note="figure is NaN"))
            continue
        passed = value >= t.limit if t.bound == "min" else value <= t.limit
        checks.append(Check(threshold=t, value=value, passed=passed))
    return checks


# -- the machine ---------------------------------------------------------------------------------


def describe_machine() -> dict[str, Any]:
    """CPU, memory, OS, Python and the code's commit: every report states where it ran."""
    cpu = platform.processor() or platform.machine()
    mem_gib = 0.0
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo", encoding="utf-8") as fh:
        mem_gib = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(x, 2) for x in os.getloadavg()]
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_avg": load,
        "commit": _commit(),
    }


def _commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# -- writing reports ---------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class RunRecord:
    """One suite run as reported: the result plus when, how and where it ran."""

    suite: str
    description: str
    result: SuiteResult
    checks: list[Check]
    started_at: datetime
    seconds: float
    small: bool
    engine: str
    options: dict[str, Any]
    machine: dict[str, Any]
    error: str | None = None

    @property
    def passed(self) -> bool:
        """The suite ran, found nothing wrong, and met every threshold."""
        if self.result.skipped is not None:
            return True
        return self.error is None and self.result.ok and all(c.passed for c in self.checks)

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        if self.result.skipped is not None:
            return "skipped"
        return "pass" if self.passed else "fail"

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "suite": self.suite,
            "description": self.description,
            "status": self.status,
            "passed": self.passed,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 2),
            "small": self.small,
            "engine": self.engine,
            "options": self.options,
            "machine": self.machine,
            "summary": r.summary,
            "thresholds": [c.as_dict() for c in self.checks],
            "ok": r.ok,
            "skipped": r.skipped,
            "error": self.error,
            "sections": [_section_doc(s) for s in r.sections],
            "plots": [p.title for p in r.plots],
            "failures": r.failures,
        }


def _section_doc(section: Section) -> dict[str, Any]:
    columns, rows = section.table()
    return {"title": section.title, "text": section.text, "columns": columns, "rows": rows}


def timestamp(moment: datetime) -> str:
    """File-name timestamp, UTC: ``20261130T101502Z``."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_report(record: RunRecord, out_dir: Path) -> tuple[Path, Path]:
    """``<suite>-<timestamp>.json`` and ``.html`` in ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{record.suite}-{timestamp(record.started_at)}"
    json_path = out_dir / f"{stem}.json"
    html_path = out_dir / f"{stem}.html"
    json_path.write_text(
        json.dumps(record.as_dict(), ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    html_path.write_text(render_html(record), encoding="utf-8")
    return json_path, html_path


def write_index(
    records: Sequence[RunRecord],
    pages: Mapping[str, Path],
    out_dir: Path,
    started_at: datetime,
    seconds: float,
) -> tuple[Path, Path]:
    """``all-<timestamp>.json`` / ``.html``: every suite's status and figures, linking each report."""
    machine = records[0].machine if records else describe_machine()
    stem = f"all-{timestamp(started_at)}"
    doc = {
        "started_at": started_at.isoformat(),
        "seconds": round(seconds, 2),
        "passed": all(r.passed for r in records),
        "suites": {
            r.suite: {
                "status": r.status,
                "summary": r.result.summary,
                "thresholds": [c.as_dict() for c in r.checks],
                "report": pages[r.suite].name if r.suite in pages else None,
            }
            for r in records
        },
        "machine": machine,
    }
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    rows = []
    for r in records:
        link = f'<a href="{_e(pages[r.suite].name)}">{_e(r.suite)}</a>' if r.suite in pages else _e(r.suite)
        failed = [c.threshold.figure for c in r.checks if not c.passed]
        rows.append(
            f"<tr><td>{link}</td><td>{_badge(r.status)}</td><td>{_e(_fmt(round(r.seconds, 1)))} s</td>"
            f"<td>{_e(', '.join(failed) or r.result.skipped or r.error or '')}</td></tr>"
        )
    body = (
        f"<h1>cardcare evaluation: all suites {_badge('pass' if doc['passed'] else 'fail')}</h1>"
        f"<p class=muted>{_e(started_at.isoformat())} · {_e(_fmt(round(seconds, 1)))} s in total</p>"
        "<table><tr><th>suite</th><th>status</th><th>time</th><th>missed / note</th></tr>"
        + "".join(rows)
        + "</table>"
        + _machine_html(machine)
    )
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(_page("cardcare eval: all", body), encoding="utf-8")
    return json_path, html_path


_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","PingFang SC",sans-serif;
margin:24px auto;max-width:1100px;padding:0 16px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e6ec;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
th,td{border:1px solid #dde1e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.pass{background:#1e8e3e}.fail{background:#d93025}.skipped{background:#80868b}.error{background:#a142f4}
.muted{color:#5f6673}img{max-width:100%;border:1px solid #e3e6ec}p.text{white-space:pre-wrap}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f8fa;padding:6px;margin:0;font-size:12px}
"""


def _e(value: Any) -> str:
    # "://" is written as "&#58;//": the page shows the same text, and the file holds no URL a
    # browser (or a reader checking that the report is self-contained) could take for a link.
    return html.escape(str(value)).replace("://", "&#58;//")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"<td><pre>{_e(json.dumps(value, ensure_ascii=False, indent=1, default=str))}</pre></td>"
    css = ' class="num"' if isinstance(value, int | float) and not isinstance(value, bool) else ""
    return f"<td{css}>{_e(_fmt(value))}</td>"


def _badge(status: str) -> str:
    return f'<span class="badge {_e(status)}">{_e(status.upper())}</span>'


def _summary_html(record: RunRecord) -> str:
    by_figure: dict[str, list[Check]] = {}
    for c in record.checks:
        by_figure.setdefault(c.threshold.figure, []).append(c)
    rows = []
    for key, value in record.result.summary.items():
        checks = by_figure.pop(key, [])
        limit = "; ".join(c.threshold.describe() for c in checks)
        status = "" if not checks else _badge("pass" if all(c.passed for c in checks) else "fail")
        rows.append(f"<tr><th>{_e(key)}</th>{_cell(value)}<td>{_e(limit)}</td><td>{status}</td></tr>")
    for key, checks in by_figure.items():  # thresholds on figures the suite did not report
        limit = "; ".join(c.threshold.describe() for c in checks)
        rows.append(
            f"<tr><th>{_e(key)}</th><td>—</td><td>{_e(limit)}</td><td>{_badge('fail')} "
            f"<span class=muted>not reported</span></td></tr>"
        )
    return (
        "<h2>Summary</h2><table><tr><th>figure</th><th>value</th><th>threshold</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _section_html(section: Section) -> str:
    out = [f"<h2>{_e(section.title)}</h2>"]
    if section.text:
        out.append(f'<p class="text">{_e(section.text)}</p>')
    columns, rows = section.table()
    if columns or rows:
        out.append("<table>")
        if columns:
            out.append("<tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr>")
        out.extend("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
        out.append("</table>")
    return "".join(out)


def _plot_html(plot: Plot) -> str:
    data = base64.b64encode(plot.png_bytes()).decode("ascii")
    return f'<h2>{_e(plot.title)}</h2><img alt="{_e(plot.title)}" src="data:image/png;base64,{data}">'


def _failures_html(failures: Sequence[Mapping[str, Any]], limit: int = 60) -> str:
    if not failures:
        return "<h2>Failures</h2><p class=muted>None.</p>"
    columns: list[str] = []
    for f in failures[:limit]:
        columns.extend(k for k in f if k not in columns)
    rows = "".join("<tr>" + "".join(_cell(f.get(c, "")) for c in columns) + "</tr>" for f in failures[:limit])
    more = (
        f"<p class=muted>{len(failures) - limit} more in the JSON report.</p>"
        if len(failures) > limit
        else ""
    )
    return (
        f"<h2>Failures ({len(failures)})</h2><table><tr>"
        + "".join(f"<th>{_e(c)}</th>" for c in columns)
        + "</tr>"
        + rows
        + "</table>"
        + more
    )


def _machine_html(machine: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in machine.items())
    return f"<h2>Machine</h2><table>{rows}</table>"


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def render_html(record: RunRecord) -> str:
    """The whole report as one self-contained HTML page."""
    r = record.result
    head = (
        f"<h1>cardcare eval: {_e(record.suite)} {_badge(record.status)}</h1>"
        f"<p class=muted>{_e(record.description)}</p>"
        f"<p class=muted>{_e(record.started_at.isoformat())} · {_e(_fmt(round(record.seconds, 1)))} s · "
        f"engine {_e(record.engine)} · {'small' if record.small else 'full'} run"
        + (
            f" · options {_e(json.dumps(record.options, ensure_ascii=False, default=str))}"
            if record.options
            else ""
        )
        + "</p>"
    )
    parts = [head]
    if record.error:
        parts.append(f"<h2>Error</h2><pre>{_e(record.error)}</pre>")
    if r.skipped:
        parts.append(f"<h2>Skipped</h2><p>{_e(r.skipped)}</p>")
    parts.append(_summary_html(record))
    if not r.ok:
        parts.append(
            '<p><span class="badge fail">NOT OK</span> the suite reported a problem beyond the thresholds; '
            "see the sections below.</p>"
        )
    parts.extend(_section_html(s) for s in r.sections)
    parts.extend(_plot_html(p) for p in r.plots)
    parts.append(_failures_html(r.failures))
    if record.checks:
        rows = "".join(
            f"<tr><td>{_e(c.threshold.figure)}</td><td>{_e(c.threshold.describe())}</td>{_cell(c.value)}"
            f"<td>{_badge('pass' if c.passed else 'fail')} {_e(c.note)}</td>"
            f"<td>{_e(c.threshold.source)}</td></tr>"
            for c in record.checks
        )
        parts.append(
            "<h2>Thresholds</h2><table><tr><th>figure</th><th>limit</th><th>value</th><th>result</th>"
            f"<th>from</th></tr>{rows}</table>"
        )
    parts.append(_machine_html(record.machine))
    return _page(f"cardcare eval: {record.suite}", "".join(parts))
