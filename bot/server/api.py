"""Customer-facing HTTP API: health, demo identities, conversations, understanding."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.auth import Principal
from bot.cards.models import jsonable
from bot.domain import ConversationId
from bot.errors import AuthError, CardSystemError, Forbidden, NotFound
from bot.server.runtime import Runtime

router = APIRouter()


def runtime(request: Request) -> Runtime:
    """The service's parts (the per-address limit is applied before, by the app's middleware)."""
    rt: Runtime = request.app.state.rt
    return rt


RT = Annotated[Runtime, Depends(runtime)]


def bearer(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def customer(rt: RT, token: Annotated[str | None, Depends(bearer)]) -> Principal:
    return rt.tokens.verify(token, scope="customer")


def require_demo(rt: RT) -> Runtime:
    if not rt.settings.demo:
        raise NotFound("demo endpoints are off (CARDCARE_DEMO=false)")
    return rt


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DemoTokenRequest(_Body):
    customer_id: str = Field(min_length=1, max_length=64)


class UnderstandRequest(_Body):
    text: str = Field(min_length=1, max_length=2000)
    locale: str = Field(default="zh-CN", pattern=r"^(zh-CN|en-US|zh|en)$")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the conversation store and the card system answer."""
    rt: Runtime | None = getattr(request.app.state, "rt", None)
    checks: dict[str, str] = {}
    if rt is None:
        return JSONResponse({"status": "starting", "checks": checks}, status_code=503)
    try:
        await rt.store.ping()
        checks["store"] = "ok"
    except Exception as exc:  # readiness reports, it does not fail
        checks["store"] = f"error: {type(exc).__name__}"
    try:
        await rt.cards.customers()
        checks["card_system"] = "ok"
    except Exception as exc:
        checks["card_system"] = f"error: {type(exc).__name__}"
    for name, probe in rt.extras.get("readiness", {}).items():
        checks[name] = await probe()
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503)


@router.get("/api/v1/demo/customers")
async def demo_customers(rt: Annotated[Runtime, Depends(require_demo)]) -> list[dict[str, Any]]:
    """The seeded demo customers (demo mode only)."""
    return [
        {"id": c.id, "display_name": c.name, "display_name_en": c.name_en, "segment": c.segment,
         "tier": c.tier, "preferred_locale": c.locale}
        for c in await rt.cards.customers()
    ]


@router.post("/api/v1/demo/token")
async def demo_token(body: DemoTokenRequest, rt: Annotated[Runtime, Depends(require_demo)]) -> dict[str, Any]:
    """Mint a customer token for a seeded demo customer (demo mode only)."""
    try:
        await rt.cards.customer(body.customer_id)
    except CardSystemError as exc:
        raise NotFound(f"no demo customer {body.customer_id!r}") from exc
    token, exp = rt.tokens.mint(body.customer_id, "customer")
    return {"token": token, "customer_id": body.customer_id, "expires_at": exp}


@router.get("/api/v1/demo/customers/{customer_id}/state")
async def demo_customer_state(customer_id: str, rt: Annotated[Runtime, Depends(require_demo)]) -> dict[str, Any]:
    """The customer's state in the simulated card system (demo mode only)."""
    try:
        return jsonable(await rt.cards.snapshot(customer_id))  # type: ignore[no-any-return]
    except CardSystemError as exc:
        raise NotFound(f"no demo customer {customer_id!r}") from exc


@router.get("/api/v1/conversations")
async def list_conversations(rt: RT, who: Annotated[Principal, Depends(customer)]) -> list[dict[str, Any]]:
    """The calling customer's conversations."""
    return [
        {"conversation_id": c.id, "created_at": c.created_at.isoformat(), "last_seq": c.last_seq, "locale": c.locale}
        for c in await rt.store.list_conversations(who.subject)  # type: ignore[arg-type]
    ]


@router.get("/api/v1/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: str, rt: RT, who: Annotated[Principal, Depends(customer)], after_seq: int = 0
) -> dict[str, Any]:
    """A conversation's events, to its owner only."""
    conv = await rt.store.get_conversation(ConversationId(conversation_id))
    if conv is None or conv.customer_id != who.subject:
        raise Forbidden("this conversation is not yours")
    events = await rt.store.events_after(conv.id, min(max(after_seq, 0), conv.last_seq))  # store-safe bounds
    return {"conversation_id": conv.id, "last_seq": conv.last_seq, "events": [e.frame() for e in events]}


@router.post("/api/v1/understand")
async def understand(
    body: UnderstandRequest, rt: RT, token: Annotated[str | None, Depends(bearer)]
) -> dict[str, Any]:
    """Language, intent, confidence, slots and signals of one text (like Rasa's parse endpoint).

    Needs a service token outside demo mode.
    """
    if not rt.settings.demo:
        rt.tokens.verify(token, scope="service")
    elif token:
        try:
            rt.tokens.verify(token, scope="service")
        except AuthError:
            rt.tokens.verify(token, scope="customer")
    engine = rt.extras["engine"]
    result: dict[str, Any] = engine.understand_json(body.text, body.locale)
    return result
