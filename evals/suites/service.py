"""Service quality report over recorded conversations, with complaint and dispute surge alerts.

Reads what the service itself stored: the conversation store (events and analytics records:
``turn``, ``flow``, ``handoff``, ``csat``, ``complaint`` …) and the handoff queue's tickets
(embedded SQLite under a var dir, e.g. the output of ``cardcare simulate``, or a live Redis).
Without a var dir or a Redis URL it first simulates a small week of traffic.

Definitions (the report states them too):

* *engaged conversation*: at least one customer turn the assistant processed;
* *containment*: engaged conversations never handed to a person;
* *first response*: customer input → the next bot or agent message, in the conversation's events;
* *SLA attainment*: tickets whose first agent response came by the ticket's deadline (60/120/300 s
  by priority, counted from when agents are on), over tickets answered or past their deadline;
* *handling time*: ticket assigned → closed or handed back;
* *NPS-style score*: from the 1–5 CSAT: 5 promoter, 4 passive, 1–3 detractor;
  score = % promoters − % detractors;
* *repeat contact*: a conversation whose customer had started another one within the 7 days before;
* *surge alert*: a category's daily count of conversations above ``mean + k·std`` of its previous
  ``window`` days (std floored at max(√mean, 1)), with at least ``min_count`` conversations.
  Alerts are stored as ``alert`` records and published as ``{"type": "alert", …}`` on the bus
  topic ``supervisors``, which the agent hub relays to every connected supervisor console.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import Conversation, Event, Record
from evals.report import Plot, Section, SuiteContext, SuiteResult
from handoff.models import Ticket

NAME = "service"
DESCRIPTION = (
    "Containment, handoffs, first response and SLA, handling time, CSAT/NPS, funnels, repeats, surge alerts"
)
CHINA = ZoneInfo("Asia/Shanghai")
SLA_TARGETS_S = {1: 60, 2: 120, 3: 300}
SUPERVISORS_TOPIC = "supervisors"
# Categories watched for surges: (label, where the count comes from, value).
WATCHED = (
    ("intent:fraud.dispute", "intent", "fraud.dispute"),
    ("intent:complaint", "intent", "complaint"),
    ("handoff:unrecognised_transaction", "handoff", "unrecognised_transaction"),
    ("handoff:regulator_complaint", "handoff", "regulator_complaint"),
    ("handoff:complaint", "handoff", "complaint"),
    ("flow:dispute", "flow", "dispute"),
)


def china_day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


# -- the data ----------------------------------------------------------------------------------


@dataclass
class ServiceData:
    """Everything the report reads: conversations with their events, analytics records, tickets."""

    conversations: list[Conversation]
    events: dict[str, list[Event]]
    records: list[Record]
    tickets: list[Ticket]

    def records_of(self, kind: str) -> list[Record]:
        return [r for r in self.records if r.kind == kind]


async def load_data(store: Any, queue: Any | None) -> ServiceData:
    """Read the store (and the queue's tickets named by the conversations' handoff events)."""
    conversations: list[Conversation] = []
    events: dict[str, list[Event]] = {}
    ticket_ids: list[str] = []
    for cid in await store.conversation_ids():
        conv = await store.get_conversation(cid)
        if conv is None:
            continue
        conversations.append(conv)
        events[cid] = await store.events_after(cid, 0)
        for e in events[cid]:
            tid = e.data.get("ticket_id")
            if e.type == "handoff" and tid and tid not in ticket_ids:
                ticket_ids.append(str(tid))
    tickets = []
    if queue is not None:
        from handoff.errors import HandoffError

        for tid in ticket_ids:
            try:
                tickets.append(await queue.get(tid))
            except HandoffError:
                continue
    return ServiceData(
        conversations=conversations, events=events, records=await store.records(), tickets=tickets
    )


async def open_sources(
    var_dir: Path | None, redis_url: str | None, prefix: str = "cardcare:"
) -> tuple[Any, Any, Any]:
    """(store, queue, bus) of an embedded var dir or a Redis deployment; ``bus`` only for Redis."""
    if redis_url:
        from bot.stores.redis import RedisConversationStore
        from handoff.bus.redis import RedisEventBus
        from handoff.queue.redis import RedisHandoffQueue

        store = await RedisConversationStore(redis_url, prefix=prefix).open()
        queue = await RedisHandoffQueue(redis_url, prefix=prefix + "handoff:").open()
        return store, queue, RedisEventBus(redis_url, prefix=prefix + "bus:")
    assert var_dir is not None
    from bot.stores.sqlite import SqliteConversationStore
    from handoff.queue.sqlite import SqliteHandoffQueue

    if not (var_dir / "cardcare.db").exists():
        raise FileNotFoundError(f"{var_dir}: no cardcare.db (run `cardcare simulate` or point at a var dir)")
    store = await SqliteConversationStore(var_dir / "cardcare.db").open()
    queue = (
        await SqliteHandoffQueue(var_dir / "handoff.db").open() if (var_dir / "handoff.db").exists() else None
    )
    return store, queue, None


# -- metrics -----------------------------------------------------------------------------------


def engaged_ids(records: Iterable[Record]) -> set[str]:
    return {str(r.conversation_id) for r in records if r.kind == "turn" and r.conversation_id}


def handed_off_ids(records: Iterable[Record]) -> set[str]:
    return {str(r.conversation_id) for r in records if r.kind == "handoff" and r.conversation_id}


def containment(records: Sequence[Record]) -> dict[str, Any]:
    """Engaged conversations, how many stayed with the assistant, and the rate."""
    engaged = engaged_ids(records)
    handed = handed_off_ids(records) & engaged
    contained = len(engaged) - len(handed)
    return {
        "engaged": len(engaged),
        "handed_off": len(handed),
        "contained": contained,
        "containment_rate": _ratio(contained, len(engaged)),
    }


def handoffs_by_reason(records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """Conversations handed off per reason, and their share of engaged conversations."""
    engaged = len(engaged_ids(records))
    per: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.kind == "handoff" and r.conversation_id:
            per[str(r.data.get("reason"))].add(str(r.conversation_id))
    return {
        reason: {"conversations": len(ids), "rate": _ratio(len(ids), engaged)}
        for reason, ids in sorted(per.items(), key=lambda kv: -len(kv[1]))
    }


def first_response_times(events: Mapping[str, Sequence[Event]]) -> dict[str, list[float]]:
    """Seconds from each customer input to the next bot or agent message, split by who answered."""
    out: dict[str, list[float]] = {"bot": [], "agent": []}
    for evs in events.values():
        pending: datetime | None = None
        for e in sorted(evs, key=lambda x: x.seq):
            role = e.data.get("role")
            if role == "customer" and pending is None:
                pending = e.created_at
            elif e.type == "message" and role in ("bot", "agent") and pending is not None:
                out[str(role)].append(max(0.0, (e.created_at - pending).total_seconds()))
                pending = None
    return out


def sla_attainment(tickets: Sequence[Ticket], now: datetime) -> dict[int, dict[str, Any]]:
    """Per priority: tickets answered or past their deadline, how many were answered in time."""
    out: dict[int, dict[str, Any]] = {}
    for p in (1, 2, 3):
        eligible = met = 0
        for t in tickets:
            if int(t.priority) != p:
                continue
            if t.first_response_at is not None:
                eligible += 1
                met += t.first_response_at <= t.sla_deadline
            elif now > t.sla_deadline and (t.closed_at is None or t.closed_at > t.sla_deadline):
                eligible += 1
        out[p] = {
            "tickets": eligible,
            "met": met,
            "attainment": _ratio(met, eligible),
            "target_s": SLA_TARGETS_S[p],
        }
    return out


def handling_times(tickets: Sequence[Ticket]) -> list[float]:
    """Seconds from assignment to close or hand-back, for tickets that went through both."""
    return [
        (t.closed_at - t.assigned_at).total_seconds()
        for t in tickets
        if t.assigned_at is not None and t.closed_at is not None
    ]


def csat(records: Sequence[Record]) -> dict[str, Any]:
    """Distribution of 1–5 ratings, average, and the NPS-style score (5 promoter, 4 passive, ≤3 detractor)."""
    ratings = [
        int(r.data["rating"]) for r in records if r.kind == "csat" and isinstance(r.data.get("rating"), int)
    ]
    dist = {k: ratings.count(k) for k in range(1, 6)}
    n = len(ratings)
    promoters, detractors = dist[5], sum(dist[k] for k in (1, 2, 3))
    return {
        "ratings": n,
        "distribution": dist,
        "average": round(statistics.fmean(ratings), 3) if ratings else None,
        "promoters": promoters,
        "passives": dist[4],
        "detractors": detractors,
        "nps": round(100 * (promoters - detractors) / n, 1) if n else None,
    }


def conversation_segments(records: Sequence[Record]) -> dict[str, str]:
    """The customer segment of each conversation (from its turn records)."""
    out: dict[str, str] = {}
    for r in records:
        if r.kind == "turn" and r.conversation_id and r.data.get("segment"):
            out.setdefault(str(r.conversation_id), str(r.data["segment"]))
    return out


STAGES = ("offered", "started", "completed", "abandoned", "failed")


def funnel(records: Sequence[Record]) -> dict[str, dict[str, dict[str, int]]]:
    """Per flow, per segment (and ``all``): distinct conversations reaching each stage."""
    segments = conversation_segments(records)
    seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in records:
        if r.kind != "flow" or not r.conversation_id or r.data.get("event") not in STAGES:
            continue
        cid = str(r.conversation_id)
        segment = str(r.data.get("segment") or segments.get(cid) or "unknown")
        for seg in ("all", segment):
            seen[(str(r.data.get("flow")), seg, str(r.data["event"]))].add(cid)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (flow, seg, stage), ids in seen.items():
        out.setdefault(flow, {}).setdefault(seg, dict.fromkeys(STAGES, 0))[stage] = len(ids)
    return dict(sorted(out.items()))


def repeat_contacts(
    conversations: Sequence[Conversation],
    engaged: set[str] | None = None,
    window: timedelta = timedelta(days=7),
) -> dict[str, Any]:
    """Conversations whose customer had started another (engaged) one within ``window`` before."""
    convs = [c for c in conversations if engaged is None or c.id in engaged]
    by_customer: dict[str, list[Conversation]] = defaultdict(list)
    for c in convs:
        by_customer[c.customer_id].append(c)
    repeats = 0
    for items in by_customer.values():
        items.sort(key=lambda c: c.created_at)
        repeats += sum(1 for a, b in itertools.pairwise(items) if b.created_at - a.created_at <= window)
    return {
        "conversations": len(convs),
        "repeats": repeats,
        "repeat_rate": _ratio(repeats, len(convs)),
        "customers": len(by_customer),
    }


def complaint_rate(records: Sequence[Record]) -> dict[str, Any]:
    engaged = engaged_ids(records)
    with_complaint = {str(r.conversation_id) for r in records if r.kind == "complaint" and r.conversation_id}
    regulator = {str(r.conversation_id) for r in records if r.kind == "complaint" and r.data.get("regulator")}
    return {
        "complaints": len(with_complaint),
        "regulator": len(regulator),
        "complaint_rate": _ratio(len(with_complaint & engaged), len(engaged)),
    }


# -- daily series and surge detection ----------------------------------------------------------


def conversation_days(conversations: Sequence[Conversation]) -> dict[str, date]:
    return {c.id: china_day(c.created_at) for c in conversations}


def primary_intents(records: Sequence[Record]) -> dict[str, str]:
    """The first substantive intent of each conversation."""
    out: dict[str, str] = {}
    for r in records:
        if r.kind == "turn" and r.conversation_id and str(r.conversation_id) not in out:
            intent = r.data.get("intent")
            if intent and intent not in ("chitchat",):
                out[str(r.conversation_id)] = str(intent)
    return out


def daily_intents(records: Sequence[Record], days: Mapping[str, date]) -> dict[date, Counter[str]]:
    out: dict[date, Counter[str]] = defaultdict(Counter)
    for cid, intent in primary_intents(records).items():
        if cid in days:
            out[days[cid]][intent] += 1
    return dict(sorted(out.items()))


def daily_containment(records: Sequence[Record], days: Mapping[str, date]) -> dict[date, float | None]:
    engaged, handed = engaged_ids(records), handed_off_ids(records)
    per: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for cid in engaged:
        if cid in days:
            per[days[cid]][0] += 1
            per[days[cid]][1] += cid not in handed
    return {d: _ratio(v[1], v[0]) for d, v in sorted(per.items())}


def watched_series(records: Sequence[Record], days: Mapping[str, date]) -> dict[str, dict[date, int]]:
    """Per watched category, distinct conversations per day (days with none included as 0)."""
    seen = sorted(set(days.values()))
    all_days = [seen[0] + timedelta(days=i) for i in range((seen[-1] - seen[0]).days + 1)] if seen else []
    out: dict[str, dict[date, int]] = {}
    for label, source, value in WATCHED:
        ids: set[str] = set()
        for r in records:
            if not r.conversation_id:
                continue
            hit = (
                (source == "intent" and r.kind == "turn" and r.data.get("intent") == value)
                or (source == "handoff" and r.kind == "handoff" and r.data.get("reason") == value)
                or (
                    source == "flow"
                    and r.kind == "flow"
                    and r.data.get("flow") == value
                    and r.data.get("event") == "started"
                )
            )
            if hit:
                ids.add(str(r.conversation_id))
        counts = Counter(days[c] for c in ids if c in days)
        out[label] = {d: counts.get(d, 0) for d in all_days}
    return out


@dataclass(frozen=True)
class Alert:
    """A category whose daily count surged above its recent baseline."""

    category: str
    day: date
    count: int
    baseline_mean: float
    baseline_std: float
    threshold: float
    history_days: int
    k: float

    @property
    def id(self) -> str:
        return f"surge:{self.category}:{self.day.isoformat()}"

    def event(self, detected_at: datetime) -> dict[str, Any]:
        """The ``alert`` event: stored as a record and published to supervisors."""
        what_zh = {
            "intent:fraud.dispute": "盗刷/争议咨询",
            "handoff:unrecognised_transaction": "盗刷转人工",
            "intent:complaint": "投诉",
            "handoff:complaint": "投诉转人工",
            "handoff:regulator_complaint": "监管投诉",
            "flow:dispute": "争议流程",
        }.get(self.category, self.category)
        return {
            "type": "alert",
            "kind": "surge",
            "alert_id": self.id,
            "category": self.category,
            "day": self.day.isoformat(),
            "count": self.count,
            "baseline_mean": round(self.baseline_mean, 2),
            "baseline_std": round(self.baseline_std, 2),
            "threshold": round(self.threshold, 2),
            "history_days": self.history_days,
            "k": self.k,
            "detected_at": detected_at.isoformat(),
            "severity": "high"
            if self.category.startswith(
                ("handoff:unrecognised", "intent:fraud", "flow:dispute", "handoff:regulator")
            )
            else "medium",
            "message": {
                "zh": f"{self.day.isoformat()} {what_zh}激增：{self.count} 个会话"
                f"（近{self.history_days}天日均 "
                f"{self.baseline_mean:.1f}）",
                "en": f"{self.category} surged on {self.day.isoformat()}: {self.count} conversations "
                f"(previous {self.history_days}-day mean {self.baseline_mean:.1f})",
            },
        }


def detect_surges(
    series: Mapping[str, Mapping[date, int]],
    *,
    k: float = 3.0,
    window: int = 7,
    min_count: int = 5,
    min_history: int = 3,
) -> list[Alert]:
    """Days whose count exceeds ``mean + k·max(std, √mean, 1)`` of the previous ``window`` days."""
    alerts = []
    for category, per_day in series.items():
        days = sorted(per_day)
        for i, day in enumerate(days):
            history = [per_day[d] for d in days[max(0, i - window) : i] if (day - d).days <= window]
            count = per_day[day]
            if len(history) < min_history or count < min_count:
                continue
            mean = statistics.fmean(history)
            std = statistics.pstdev(history)
            threshold = mean + k * max(std, math.sqrt(mean), 1.0)
            if count > threshold:
                alerts.append(
                    Alert(
                        category=category,
                        day=day,
                        count=count,
                        baseline_mean=mean,
                        baseline_std=std,
                        threshold=threshold,
                        history_days=len(history),
                        k=k,
                    )
                )
    return sorted(alerts, key=lambda a: (a.day, a.category))


async def publish_alerts(
    alerts: Sequence[Alert], *, store: Any, bus: Any | None, now: datetime
) -> list[dict[str, Any]]:
    """Store each new alert as an ``alert`` record and publish it to supervisors (once per alert id)."""
    known = {r.data.get("alert_id") for r in await store.records(["alert"])}
    published = []
    for alert in alerts:
        if alert.id in known:
            continue
        event = alert.event(now)
        await store.add_record("alert", event)
        if bus is not None:
            await bus.publish(SUPERVISORS_TOPIC, event)
        published.append(event)
    return published


# -- the report --------------------------------------------------------------------------------


@dataclass
class Metrics:
    """All the figures of one report."""

    containment: dict[str, Any]
    handoffs: dict[str, dict[str, Any]]
    first_response: dict[str, dict[str, Any]]
    sla: dict[int, dict[str, Any]]
    handling: dict[str, Any]
    csat: dict[str, Any]
    funnel: dict[str, dict[str, dict[str, int]]]
    repeats: dict[str, Any]
    complaints: dict[str, Any]
    daily_intents: dict[date, Counter[str]]
    daily_containment: dict[date, float | None]
    watched: dict[str, dict[date, int]]
    alerts: list[Alert] = field(default_factory=list)


def compute(data: ServiceData, *, now: datetime, k: float = 3.0, min_count: int = 5) -> Metrics:
    records = data.records
    days = conversation_days(data.conversations)
    frt = first_response_times(data.events)
    ht = handling_times(data.tickets)
    watched = watched_series(records, days)
    return Metrics(
        containment=containment(records),
        handoffs=handoffs_by_reason(records),
        first_response={who: _stats(v) for who, v in frt.items()},
        sla=sla_attainment(data.tickets, now),
        handling=_stats(ht),
        csat=csat(records),
        funnel=funnel(records),
        repeats=repeat_contacts(data.conversations, engaged_ids(records)),
        complaints=complaint_rate(records),
        daily_intents=daily_intents(records, days),
        daily_containment=daily_containment(records, days),
        watched=watched,
        alerts=detect_surges(watched, k=k, min_count=min_count),
    )


def summary_of(m: Metrics) -> dict[str, Any]:
    s: dict[str, Any] = {
        "conversations": m.containment["engaged"],
        "containment_rate": m.containment["containment_rate"],
        "handoff_rate": _ratio(m.containment["handed_off"], m.containment["engaged"]),
        "frt_bot_p50_s": m.first_response["bot"]["p50"],
        "frt_agent_p50_s": m.first_response["agent"]["p50"],
        "aht_mean_s": m.handling["mean"],
        "csat_avg": m.csat["average"],
        "csat_ratings": m.csat["ratings"],
        "nps": m.csat["nps"],
        "repeat_rate_7d": m.repeats["repeat_rate"],
        "complaint_rate": m.complaints["complaint_rate"],
        "alerts": len(m.alerts),
    }
    s |= {f"sla_p{p}": v["attainment"] for p, v in m.sla.items()}
    return s


def sections_of(m: Metrics, published: Sequence[dict[str, Any]], where: str) -> list[Section]:
    c = m.csat
    out = [
        _section(
            "Headline",
            f"Source: {where}. Engaged conversations have at least one processed customer turn; "
            f"containment = engaged conversations never handed to a person.",
            [{"figure": k, "value": v} for k, v in summary_of(m).items()],
        ),
        _section(
            "Handoffs by reason",
            "Conversations handed to a person, per reason, over engaged conversations.",
            [{"reason": r, **v} for r, v in m.handoffs.items()],
        ),
        _section(
            "First response",
            "Customer input → next bot or agent message (seconds).",
            [{"answered by": who, **v} for who, v in m.first_response.items()],
        ),
        _section(
            "SLA attainment per priority",
            "First agent response by the ticket's deadline (60/120/300 s "
            "after the handoff, or after agents come on); tickets answered or "
            "past their deadline.",
            [{"priority": p, **v} for p, v in m.sla.items()],
        ),
        _section("Average handling time", "Ticket assigned → closed or handed back (seconds).", [m.handling]),
        _section(
            "CSAT and NPS-style score",
            "CSAT 1–5. NPS-style score from CSAT: 5 = promoter, 4 = passive, "
            "1–3 = detractor; score = % promoters − % detractors.",
            [{"rating": r, "count": n} for r, n in c["distribution"].items()]
            + [{"rating": "average", "count": c["average"]}, {"rating": "NPS-style", "count": c["nps"]}],
        ),
        _section(
            "Flow funnel",
            "Distinct conversations per stage (offered → started → completed), per flow and "
            "customer segment.",
            [
                {"flow": f, "segment": seg, **stages}
                for f, per in m.funnel.items()
                for seg, stages in sorted(per.items())
            ],
        ),
        _section(
            "Repeat contacts and complaints",
            "Repeat contact: a conversation whose customer started another one within the previous 7 days.",
            [{**m.repeats, **m.complaints}],
        ),
    ]
    alert_rows = [
        a.event(datetime.now().astimezone()) | {"published_now": a.id in {p["alert_id"] for p in published}}
        for a in m.alerts
    ]
    out.append(
        _section(
            "Surge alerts",
            "A category's daily conversations above mean + k·max(std, √mean, 1) of the previous 7 days "
            "(at least 5). Each alert is stored as an `alert` record and published as "
            '{"type": "alert"} on the bus topic `supervisors` (supervisor consoles receive it).',
            [{k: v for k, v in r.items() if k not in ("type", "message", "detected_at")} for r in alert_rows]
            or [{"alerts": "none"}],
        )
    )
    return out


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "mean": None, "p50": None, "p90": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "mean": round(statistics.fmean(ordered), 2),
        "p50": round(_pct(ordered, 50), 2),
        "p90": round(_pct(ordered, 90), 2),
        "max": round(ordered[-1], 2),
    }


def _pct(ordered: Sequence[float], q: float) -> float:
    i = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(i), math.ceil(i)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (i - lo)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _section(title: str, text: str, rows: list[dict[str, Any]] | None = None) -> Section:
    return Section(title=title, text=text, rows=rows)


# -- plots -------------------------------------------------------------------------------------


def plots_of(m: Metrics) -> list[Plot]:
    import matplotlib

    matplotlib.use("Agg")
    return [
        _volume_plot(m),
        _containment_plot(m),
        _sla_plot(m),
        _funnel_plot(m),
        _csat_plot(m),
        _surge_plot(m),
    ]


def _fig(w: float = 8, h: float = 3.6) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    return fig, fig.subplots()


def _volume_plot(m: Metrics) -> Plot:
    fig, ax = _fig()
    days = list(m.daily_intents)
    totals = Counter[str]()
    for c in m.daily_intents.values():
        totals.update(c)
    top = [i for i, _ in totals.most_common(9)]
    bottom = [0] * len(days)
    x = range(len(days))
    for intent in [*top, "other"]:
        values = [
            (
                m.daily_intents[d].get(intent, 0)
                if intent != "other"
                else sum(n for i, n in m.daily_intents[d].items() if i not in top)
            )
            for d in days
        ]
        ax.bar(x, values, bottom=bottom, label=intent)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    per_day = Counter(a.day for a in m.alerts)
    for day, n in per_day.items():
        if day in days:
            i = days.index(day)
            ax.annotate(
                f"ALERT ({n})",
                (i, bottom[i]),
                textcoords="offset points",
                xytext=(0, 10),
                ha="center",
                color="red",
                fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "red"},
            )
    ax.set_ylim(0, max(bottom, default=1) * 1.25 + 1)
    ax.set_xticks(list(x), [d.strftime("%m-%d") for d in days])
    ax.set_ylabel("conversations")
    ax.set_title("Daily conversations by intent (alerts marked)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return Plot(title="Daily volume by intent", figure=fig)


def _containment_plot(m: Metrics) -> Plot:
    fig, ax = _fig(7, 3)
    days = list(m.daily_containment)
    ax.plot(
        [d.strftime("%m-%d") for d in days],
        [100 * (v or 0) for v in m.daily_containment.values()],
        marker="o",
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel("contained (%)")
    ax.set_title("Containment by day")
    fig.tight_layout()
    return Plot(title="Containment trend", figure=fig)


def _sla_plot(m: Metrics) -> Plot:
    fig, ax = _fig(5, 3)
    ps = sorted(m.sla)
    ax.bar([f"P{p} ({SLA_TARGETS_S[p]}s)" for p in ps], [100 * (m.sla[p]["attainment"] or 0) for p in ps])
    for i, p in enumerate(ps):
        ax.text(i, 2, f"n={m.sla[p]['tickets']}", ha="center", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("first response in time (%)")
    ax.set_title("SLA attainment per priority")
    fig.tight_layout()
    return Plot(title="SLA attainment per priority", figure=fig)


def _funnel_plot(m: Metrics) -> Plot:
    fig, ax = _fig()
    flows = list(m.funnel)
    width = 0.27
    for k, stage in enumerate(("offered", "started", "completed")):
        values = [m.funnel[f].get("all", {}).get(stage, 0) for f in flows]
        ax.bar([i + (k - 1) * width for i in range(len(flows))], values, width, label=stage)
    ax.set_xticks(range(len(flows)), flows, fontsize=7, rotation=15)
    ax.set_ylabel("conversations")
    ax.set_title("Flow funnel: offered → started → completed")
    ax.legend()
    fig.tight_layout()
    return Plot(title="Conversion funnel", figure=fig)


def _csat_plot(m: Metrics) -> Plot:
    fig, ax = _fig(5, 3)
    dist = m.csat["distribution"]
    ax.bar([str(r) for r in dist], list(dist.values()), color=["#c0392b"] * 3 + ["#f1c40f", "#27ae60"])
    ax.set_xlabel("rating")
    ax.set_ylabel("ratings")
    ax.set_title(f"CSAT (avg {m.csat['average']}, NPS-style {m.csat['nps']})")
    fig.tight_layout()
    return Plot(title="CSAT distribution", figure=fig)


def _surge_plot(m: Metrics) -> Plot:
    fig, ax = _fig()
    for category, per_day in m.watched.items():
        if any(per_day.values()):
            ax.plot(
                [d.strftime("%m-%d") for d in per_day], list(per_day.values()), marker=".", label=category
            )
    for a in m.alerts:
        ax.scatter(
            [a.day.strftime("%m-%d")], [a.count], s=160, facecolors="none", edgecolors="red", linewidths=2
        )
        ax.annotate(
            f"ALERT {a.category}\n{a.count} vs threshold {a.threshold:.1f}",
            (a.day.strftime("%m-%d"), a.count),
            textcoords="offset points",
            xytext=(-60, -28),
            fontsize=7,
            color="red",
        )
    ax.set_ylabel("conversations per day")
    ax.set_title("Complaint and dispute categories (surge alerts circled)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    return Plot(title="Surge alerts", figure=fig)


# -- the suite ---------------------------------------------------------------------------------


async def report(
    store: Any,
    queue: Any,
    bus: Any | None,
    *,
    where: str,
    now: datetime | None = None,
    k: float = 3.0,
    min_count: int = 5,
    publish: bool = True,
) -> SuiteResult:
    """The report over one store and queue; new alerts are recorded (and published when a bus is given)."""
    data = await load_data(store, queue)
    now = now or max((c.created_at for c in data.conversations), default=datetime.now().astimezone())
    m = compute(data, now=now, k=k, min_count=min_count)
    published = await publish_alerts(m.alerts, store=store, bus=bus, now=now) if publish else []
    summary = summary_of(m) | {"alerts_published": len(published)}
    failures = [{"alert": a.id, "message": a.event(now)["message"]["en"]} for a in m.alerts]
    return SuiteResult(
        summary=summary,
        sections=sections_of(m, published, where),
        plots=plots_of(m),
        failures=failures,
        ok=m.containment["engaged"] > 0,
    )


def _data_dir(ctx: SuiteContext) -> Path | None:
    """The var dir to read: the ``data_dir`` option, or the CLI's ``--var-dir`` when it holds a service's data
    (``cardcare eval service --var-dir DIR`` gives this suite ``DIR/service`` as its scratch directory)."""
    given = ctx.option("data_dir") or ctx.option("var_dir")
    if given:
        return Path(given)
    for candidate in (ctx.var_dir, ctx.var_dir.parent):
        if (candidate / "cardcare.db").exists():
            return candidate
    return None


async def run(ctx: SuiteContext) -> SuiteResult:
    """Options: ``data_dir`` (a ``cardcare simulate`` output or a deployment's var dir; the CLI's
    ``--var-dir`` works too), ``redis_url`` and ``redis_prefix``, ``k`` and ``min_count`` of the surge
    detector. Without a source, simulates a small week first."""
    redis_url = ctx.option("redis_url")
    var_dir = _data_dir(ctx)
    if not redis_url and var_dir is None:
        from evals.harness import cache_dir
        from evals.simulate import simulate

        var_dir = ctx.var_dir / "service-simulation"
        if not (var_dir / "simulation.json").exists():
            customers, days = (40, 7) if ctx.small else (150, 14)
            if var_dir.exists():
                import shutil

                shutil.rmtree(var_dir)
            await simulate(
                var_dir,
                customers=customers,
                days=days,
                seed=int(ctx.option("seed", 7)),
                cache=cache_dir(ctx),
                progress=ctx.progress,
            )
    store, queue, bus = await open_sources(
        var_dir, redis_url, str(ctx.options.get("redis_prefix", "cardcare:"))
    )
    try:
        return await report(
            store,
            queue,
            bus,
            where=f"redis {redis_url}" if redis_url else str(var_dir),
            k=float(ctx.options.get("k", 3.0)),
            min_count=int(ctx.options.get("min_count", 5)),
        )
    finally:
        if queue is not None:
            await queue.aclose()
        if bus is not None:
            await bus.close()
        await store.close()
