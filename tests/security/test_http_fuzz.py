"""Schemathesis over the app's OpenAPI schema (``/openapi.json``), against a live server.

Every operation, valid and invalid requests (schemathesis' positive and negative modes), three
ways of calling: with whatever ``Authorization`` header schemathesis makes up (usually none or
garbage), with a valid token of the kind the operation needs, and with a valid token aimed at
the caller's own conversation. Checked: no 5xx, no stack trace or Python exception text in a
body, and responses conform to the schema where it documents them (today it documents only
200 and 422, so statuses like 401/403/404 are not checked against a schema; see docs/security.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.harness import LiveServer, ShiftedClock, live_server, make_settings
from tests.security.fuzzing import SEED, leaks, scaled
from tests.security.scenario import hand_off
from tests.security.serverlog import LogWatch, watch_server_log

EXAMPLES = scaled(25)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(make_settings(tmp_path_factory.mktemp("var")), clock=ShiftedClock(10)) as s:
        # Hundreds of requests from one address: the per-IP limit has its own test (test_abuse_controls).
        s.rt.ip_limits.limit = 10**9
        yield s


@pytest.fixture(scope="module")
def conversation_id(server: LiveServer) -> str:
    return asyncio.run(hand_off(server, "C001", "zhangmin"))


@pytest.fixture(scope="module")
def schema(server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(server.http + "/openapi.json")


@pytest.fixture
def server_log() -> Iterator[LogWatch]:
    with watch_server_log() as watch:
        yield watch
    assert not watch.problems(), "the server logged errors:\n" + "\n".join(watch.problems())


LABELS = [
    "GET /healthz",
    "GET /readyz",
    "GET /api/v1/demo/customers",
    "POST /api/v1/demo/token",
    "GET /api/v1/demo/customers/{customer_id}/state",
    "GET /api/v1/conversations",
    "GET /api/v1/conversations/{conversation_id}",
    "POST /api/v1/understand",
    "GET /api/v1/demo/agents",
    "POST /api/v1/demo/agent-token",
    "GET /api/v1/agent/conversations/{conversation_id}/context",
    "GET /api/v1/agent/queue",
]


def test_the_schema_lists_exactly_these_operations(schema: Any) -> None:
    """A new endpoint must be added to LABELS (and to the authorization matrix)."""
    assert sorted(op.ok().label for op in schema.get_all_operations()) == sorted(LABELS)


def token_for(server: LiveServer, path: str) -> str:
    if path.startswith("/api/v1/agent/"):
        return str(server.rt.tokens.mint("zhangmin", "agent")[0])
    if path == "/api/v1/understand":
        return str(server.rt.tokens.mint("svc-nlu", "service")[0])
    return str(server.rt.tokens.mint("C001", "customer")[0])


RUNS = [
    pytest.param(label, auth, mode, id=f"{label} | {auth} | {mode.value}")
    for label in LABELS
    for auth in ("made_up", "token", "own_conversation")
    if auth != "own_conversation" or "{conversation_id}" in label
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("label", "auth", "mode"), RUNS)
def test_operation_never_fails_or_leaks(
    server: LiveServer, schema: Any, conversation_id: str, server_log: LogWatch, label: str, auth: str,
    mode: GenerationMode,
) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    headers = None if auth == "made_up" else {"authorization": f"Bearer {token_for(server, operation.path)}"}
    path_parameters = {"conversation_id": conversation_id} if auth == "own_conversation" else None
    strategy = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=path_parameters)
    statuses: list[int] = []

    @settings(max_examples=EXAMPLES, derandomize=SEED is None, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def call(case: Any) -> None:
        response = case.call(base_url=server.http, timeout=15)
        statuses.append(response.status_code)
        sent = f"{case.path_parameters!r} {case.query!r} {case.headers!r} {case.body!r}"
        found = leaks(response.text, sent)  # what the client sent itself may be echoed back
        assert not found, f"{case.method} {case.formatted_path}: {found} in the body: {response.text[:500]}"
        case.validate_response(
            response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
        )

    try:
        call()
    except Unsatisfiable:
        # Nothing to make invalid: no parameters, or only the header this variant fixes.
        assert mode is GenerationMode.NEGATIVE and not statuses
    assert max(statuses, default=200) < 500
