"""The app factory: the only composition root. Builds the parts from settings, wires them, serves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import JSONResponse

from bot.auth import TokenService
from bot.cards.audited import AuditedCardSystem
from bot.cards.simulated import SimulatedCardSystem
from bot.domain import utcnow
from bot.ports import ConversationStore
from bot.server.agents import LateParts, agent_routes
from bot.server.api import router as api_router
from bot.server.chat_ws import ChatConnection
from bot.server.errors import install_error_handlers
from bot.server.logs import configure_logging
from bot.server.runtime import ConnectionLimiter, Runtime, SlidingWindowLimiter
from bot.server.settings import BotSettings
from bot.server.wiring import build_services
from knowledge.fees import load_fee_schedule

logger = logging.getLogger(__name__)


async def _open_store(settings: BotSettings, clock: Callable[[], datetime]) -> ConversationStore:
    if settings.redis_url:
        from bot.stores.redis import RedisConversationStore

        return await RedisConversationStore(settings.redis_url, prefix=settings.redis_prefix, clock=clock).open()
    from bot.stores.sqlite import SqliteConversationStore

    return await SqliteConversationStore(settings.db_path, synchronous=settings.sqlite_synchronous, clock=clock).open()


def _open_bus(settings: BotSettings) -> Any:
    if settings.redis_url:
        from handoff.bus.redis import RedisEventBus

        return RedisEventBus(settings.redis_url, prefix=settings.redis_prefix + "bus:")
    from handoff.bus.memory import InMemoryEventBus

    return InMemoryEventBus()


def create_app(settings: BotSettings | None = None, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the FastAPI app. Parts are created in the lifespan and closed in reverse order."""
    settings = settings or BotSettings()
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        schedule = load_fee_schedule()
        async with AsyncExitStack() as stack:
            tokens = TokenService(
                settings.resolved_token_secret(), ttl_s=settings.token_ttl_s, leeway_s=settings.token_leeway_s
            )
            store = await _open_store(settings, clock)
            stack.push_async_callback(store.close)
            bus = _open_bus(settings)
            stack.push_async_callback(bus.close)
            core = await SimulatedCardSystem(settings.cards_db_path, schedule, clock=clock).open()
            stack.push_async_callback(core.close)
            cards = AuditedCardSystem(core, store)  # every side effect goes to the audit log
            services = await build_services(settings, stack, store=store, bus=bus, cards=cards, schedule=schedule,
                                            tokens=tokens, clock=clock)
            conversations = services.conversations
            late.bind(hub=services.hub, tokens=services.bridge, directory=services.directory)
            app.state.rt = Runtime(
                settings=settings,
                tokens=tokens,
                store=store,
                bus=bus,
                cards=cards,
                conversations=conversations,
                connections=ConnectionLimiter(settings.max_connections_per_customer),
                customer_limits=SlidingWindowLimiter(settings.customer_rate_per_min, 60.0),
                ip_limits=SlidingWindowLimiter(600, 60.0),
                extras={"engine": services.engine, "schedule": schedule, "loop": asyncio.get_running_loop(),
                        "hub": services.hub, "bridge": services.bridge},
            )
            logger.info("server.started", extra={"store": "redis" if settings.redis_url else "sqlite",
                                                 "demo": settings.demo})
            yield
            logger.info("server.stopping")

    app = FastAPI(
        title="cardcare",
        version="0.1.0",
        description="Customer-service assistant for Lumen Bank credit-card holders.",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def per_address_limit(request: Request, call_next: Callable[[Request], Any]) -> Response:
        """One request budget per client address over the whole HTTP API: customer, agent and demo."""
        rt: Runtime | None = getattr(request.app.state, "rt", None)
        if rt is not None and request.url.path.startswith("/api/"):
            client = request.client.host if request.client else "unknown"
            if not rt.ip_limits.allow(client):
                return JSONResponse({"error": "rate_limited", "message": "too many requests from this address"},
                                    status_code=429, headers={"Retry-After": "60"})
        response: Response = await call_next(request)
        return response

    app.include_router(api_router)
    late = LateParts()
    app.include_router(agent_routes(settings.demo, late))

    @app.websocket("/ws/chat")
    async def chat_socket(ws: WebSocket) -> None:
        await ChatConnection(ws, ws.app.state.rt).run()

    with contextlib.suppress(ImportError):
        from web_widget.serve import mount_web

        mount_web(app, demo=settings.demo)
    return app
