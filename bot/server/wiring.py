"""Builds the engine, the knowledge index, the handoff hub and their parts from settings.

Called by the app factory only (the composition root); everything else receives plain
arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.auth import TokenService
from bot.cards.port import CardSystem
from bot.conversations import ConversationService
from bot.engine import ChatEngine, EngineParts
from bot.guard import mask_for_storage
from bot.handoff_bridge import HandoffBridge
from bot.server.settings import BotSettings
from knowledge import KnowledgeConfig
from knowledge.fees import FeeSchedule

logger = logging.getLogger(__name__)


def knowledge_config(settings: BotSettings) -> KnowledgeConfig:
    """The knowledge package's config for these settings."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return KnowledgeConfig(
        index_dir=settings.knowledge_dir,
        chroma_url=settings.chroma_url,
        embedder=settings.embedder,
        embeddings_base_url=settings.embeddings_base_url or settings.openai_base_url,
        embeddings_api_key=key,
        embeddings_model=settings.embeddings_model,
    )


async def open_knowledge(settings: BotSettings, stack: AsyncExitStack) -> Any:
    """The hybrid retriever; ingests first when the index is missing or stale (first start)."""
    from knowledge import index_is_stale, ingest, open_retriever

    config = knowledge_config(settings)
    if settings.ingest_on_start and await asyncio.to_thread(index_is_stale, config):
        logger.info("knowledge.ingest_on_start", extra={"index_dir": str(config.index_dir)})
        report = await ingest(config)
        logger.info("knowledge.ingested", extra={"report": str(report)})
    retriever = await open_retriever(config)
    stack.push_async_callback(retriever.close)
    return retriever


def open_understander(settings: BotSettings) -> Any:
    from bot.nlu import OfflineUnderstander

    return OfflineUnderstander.load(settings.models_dir / "intents.npz")


@dataclass(kw_only=True)
class Services:
    """What the app needs beyond the store and the card system."""

    engine: ChatEngine
    conversations: ConversationService
    bridge: HandoffBridge
    hub: Any
    directory: Any
    handoff_settings: Any
    retriever: Any


async def build_services(
    settings: BotSettings,
    stack: AsyncExitStack,
    *,
    store: Any,
    bus: Any,
    cards: CardSystem,
    schedule: FeeSchedule,
    tokens: TokenService,
    clock: Callable[[], datetime],
) -> Services:
    """Engine + conversation service + handoff hub, wired together."""
    from handoff import demo_directory
    from handoff.hub import AgentHub
    from handoff.settings import HandoffSettings
    from handoff.sla import SlaMonitor
    from knowledge.graph import load_graph

    understander = await asyncio.to_thread(open_understander, settings)
    from bot.engine import article_citation
    from bot.guardrails import load_rules

    await asyncio.to_thread(load_rules)  # parse the rule library now, not on the first reply
    await asyncio.to_thread(article_citation, "billing-cycle", "zh")  # and the article index
    retriever = await open_knowledge(settings, stack)
    parts = EngineParts(understander=understander, cards=cards, schedule=schedule, store=store,
                        retriever=retriever, graph=load_graph(), clock=clock,
                        max_text_chars=settings.max_text_chars)
    if settings.llm_enabled:
        from bot.llm.engine import build_llm_assist

        parts.llm = build_llm_assist(settings, stack, parts)
    engine = ChatEngine(parts)
    conversations = ConversationService(store, bus, engine, inbound_filter=mask_for_storage,
                                        max_concurrent_turns=settings.turn_concurrency)
    stack.push_async_callback(conversations.close)
    bridge = HandoffBridge(conversations, tokens)
    if parts.llm is not None:
        bridge.summarize = parts.llm.summarize  # type: ignore[attr-defined]
    conversations.human = bridge
    parts.handoff = bridge
    service = dict(schedule.get("service"))
    if settings.agent_hours:
        start, end = settings.agent_hours.split("-")
        service["agent_hours"] = {"start": start, "end": end}
    handoff_settings = HandoffSettings.from_service_config(service, sla_check_interval_s=settings.sla_check_interval_s)
    queue = await _open_queue(settings)
    stack.push_async_callback(queue.aclose)
    directory = demo_directory()
    hub = AgentHub(queue=queue, bus=bus, gateway=bridge, drafts=bridge, audit=bridge, directory=directory,
                   settings=handoff_settings, clock=clock)
    await hub.start()
    stack.push_async_callback(hub.stop)
    bridge.hub = hub
    monitor = SlaMonitor(queue=queue, bus=bus, audit=bridge, clock=clock,
                         interval_s=settings.sla_check_interval_s)
    task = asyncio.create_task(monitor.run())

    async def stop_monitor() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop_monitor)
    return Services(engine=engine, conversations=conversations, bridge=bridge, hub=hub, directory=directory,
                    handoff_settings=handoff_settings, retriever=retriever)


async def _open_queue(settings: BotSettings) -> Any:
    if settings.redis_url:
        from handoff.queue.redis import RedisHandoffQueue

        return await RedisHandoffQueue(settings.redis_url, prefix=settings.redis_prefix + "handoff:").open()
    from handoff.queue.sqlite import SqliteHandoffQueue

    return await SqliteHandoffQueue(settings.handoff_db_path).open()
