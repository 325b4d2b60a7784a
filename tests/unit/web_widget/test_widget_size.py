"""The widget a cardholder downloads stays small: loader + every module it imports + its CSS, gzipped."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from web_widget.serve import ROOT

BUDGET_BYTES = 40 * 1024
IMPORT = re.compile(
    r"""(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^import\s+['"](\.[^'"]+)['"]""", re.M
)


def widget_files() -> list[Path]:
    """The loader, the modules reachable from widget/main.js, the larger locale table, and widget.css."""
    seen: list[Path] = []
    todo = [ROOT / "widget" / "main.js"]
    while todo:
        path = todo.pop().resolve()
        if path in seen:
            continue
        seen.append(path)
        for match in IMPORT.finditer(path.read_text(encoding="utf-8")):
            todo.append(path.parent / (match.group(1) or match.group(2)))
    # A page downloads one locale table (a dynamic import): count the larger one.
    locale = max((ROOT / "widget" / "locales").glob("*.js"), key=gzipped)
    return [ROOT / "widget" / "cardcare.js", *sorted(seen), locale, ROOT / "widget" / "widget.css"]


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def test_widget_js_and_css_are_under_40_kb_gzipped() -> None:
    files = widget_files()
    names = {p.relative_to(ROOT).as_posix() for p in files}
    assert {"widget/client.js", "widget/chat.js", "shared/connection.js", "widget/widget.css"} <= names
    assert not any(n.startswith("console/") or n.startswith("demo/") for n in names)
    total = sum(gzipped(p) for p in files)
    assert total < BUDGET_BYTES, f"widget is {total} bytes gzipped (budget {BUDGET_BYTES})"
