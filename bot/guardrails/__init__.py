"""Guardrails: personal-data masking, compliance rules, numeric grounding, input signals.

Pure functions over text. The assistant runs :func:`check` on every reply and the agent
hub on every draft; :func:`inspect_input` runs on every customer message before it is
stored or shown to a model; evaluation uses all of them. Rule and signal data (YAML) is
loaded on first use, once per process.
"""

from bot.guardrails.authdata import SECRET_TOKEN
from bot.guardrails.checkers import Fix
from bot.guardrails.compliance import Rule, Severity, Violation, check, load_rules, rewrite, strictest
from bot.guardrails.context import GuardContext
from bot.guardrails.figures import Figure, PartialDate
from bot.guardrails.grounding import GroundingSources, UngroundedFigure, check_grounding, extract_figures
from bot.guardrails.input import InputInspection, inspect_input
from bot.guardrails.pii import (
    SECRET_KINDS,
    PiiFinding,
    Redaction,
    contains_secret,
    find_pii,
    mask_card_number,
    redact,
)

__all__ = [
    "SECRET_KINDS",
    "SECRET_TOKEN",
    "Figure",
    "Fix",
    "GroundingSources",
    "GuardContext",
    "InputInspection",
    "PartialDate",
    "PiiFinding",
    "Redaction",
    "Rule",
    "Severity",
    "UngroundedFigure",
    "Violation",
    "check",
    "check_grounding",
    "contains_secret",
    "extract_figures",
    "find_pii",
    "inspect_input",
    "load_rules",
    "mask_card_number",
    "redact",
    "rewrite",
    "strictest",
]
