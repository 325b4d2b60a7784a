"""The ``cardcare`` command: serve, ingest, eval, bench, simulate, token."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.server.app import create_app
    from bot.server.settings import BotSettings

    settings = BotSettings()
    app = create_app(settings)
    base = f"http://{args.host}:{args.port}"
    mode = "Redis " + settings.redis_url if settings.redis_url else f"embedded (SQLite under {settings.var_dir}/)"
    engine = "LLM " + settings.chat_model if settings.llm_enabled else "offline engine (no API key needed)"
    lines = [
        "cardcare is starting",
        f"  store:   {mode}",
        f"  engine:  {engine}",
        f"  demo:    {'on' if settings.demo else 'off'}",
        "",
        f"  Customer demo page:  {base}/",
        f"  Agent console:       {base}/agent",
        f"  API docs:            {base}/docs",
        f"  Health:              {base}/healthz   {base}/readyz",
        f"  Chat WebSocket:      ws://{args.host}:{args.port}/ws/chat",
        "",
    ]
    sys.stderr.write("\n".join(lines) + "\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, ws_max_size=1 << 20,
                ws_ping_interval=20, ws_ping_timeout=20)
    return 0


def _token(args: argparse.Namespace) -> int:
    from bot.auth import TokenService
    from bot.server.settings import BotSettings

    settings = BotSettings()
    tokens = TokenService(settings.resolved_token_secret(), ttl_s=args.ttl)
    token, _exp = tokens.mint(args.subject, args.scope)
    sys.stdout.write(token + "\n")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bot.server.settings import BotSettings
    from bot.server.wiring import knowledge_config
    from knowledge import KnowledgeError, ingest

    settings = BotSettings()
    config = knowledge_config(settings)
    try:
        report = asyncio.run(ingest(config, rebuild=args.rebuild))
    except KnowledgeError as exc:
        sys.stderr.write(f"cardcare ingest: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(_report_dict(report), ensure_ascii=False) + "\n")
    return 0


def _report_dict(report: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(report) and not isinstance(report, type):
        return {k: (str(v) if not isinstance(v, int | float | str | bool | list | dict) else v)
                for k, v in asdict(report).items()}
    return {"report": str(report)}


def _simulate(args: argparse.Namespace) -> int:
    from evals.simulate import main as simulate_main

    return int(simulate_main(args.rest))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cardcare", description="Lumen Bank credit-card service assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="mint a token with the configured secret (for integration tests)")
    token.add_argument("subject", help="customer id, agent id or service name")
    token.add_argument("--scope", default="customer", choices=["customer", "agent", "service"])
    token.add_argument("--ttl", type=int, default=3600)
    token.set_defaults(func=_token)

    ingest = sub.add_parser("ingest", help="build or update the knowledge index (only changed articles)")
    ingest.add_argument("--rebuild", action="store_true", help="drop the index and build it from scratch")
    ingest.set_defaults(func=_ingest)

    simulate = sub.add_parser("simulate", help="generate realistic traffic through the real service",
                              add_help=False)
    simulate.add_argument("rest", nargs=argparse.REMAINDER)
    simulate.set_defaults(func=_simulate)

    from evals.cli import add_eval_commands

    add_eval_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``cardcare`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:
        # The simulator owns its options (argparse's REMAINDER cannot pass --help through).
        from evals.simulate import main as simulate_main

        raise SystemExit(int(simulate_main(argv[1:])))
    parser = build_parser()
    args = parser.parse_args(argv)
    raise SystemExit(args.func(args))
