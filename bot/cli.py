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
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``cardcare`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    raise SystemExit(args.func(args))
