"""``web_widget/protocol.schema.json``: the front-end's copy of both wire protocols matches the server's.

Regenerate after a protocol change:
``CARDCARE_UPDATE_SCHEMA=1 pytest tests/unit/web_widget/test_protocol_schema.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bot.server.protocol import PROTOCOL_VERSION, ClientFrame
from handoff.protocol import protocol_schema
from web_widget.serve import ROOT

SCHEMA_FILE = ROOT / "protocol.schema.json"


def current_schema() -> dict[str, Any]:
    return {
        "customer": {"protocol": PROTOCOL_VERSION, "client": TypeAdapter(ClientFrame).json_schema()},
        "agent": protocol_schema(),
    }


def test_the_widget_copy_of_the_protocol_schema_is_up_to_date() -> None:
    text = json.dumps(current_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("CARDCARE_UPDATE_SCHEMA") == "1":
        Path(SCHEMA_FILE).write_text(text, encoding="utf-8")
    assert SCHEMA_FILE.exists(), "run with CARDCARE_UPDATE_SCHEMA=1 to write web_widget/protocol.schema.json"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, (
        "the wire protocol changed: review the widget/console and regenerate with CARDCARE_UPDATE_SCHEMA=1"
    )
