"""The one table mapping bot errors to HTTP statuses and WebSocket close codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.errors import AuthError, BadInput, BotError, CardSystemError, Forbidden, NotFound, StoreUnavailable

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_SLOW_CONSUMER = 1013

HTTP_STATUS: dict[type[BotError], tuple[int, str]] = {
    AuthError: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    BadInput: (400, "bad_input"),
    CardSystemError: (422, "card_system"),
    StoreUnavailable: (503, "unavailable"),
}


def status_for(exc: BotError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 500, "internal"


def install_error_handlers(app: FastAPI) -> None:
    """Bot errors become JSON ``{"error": code, "message": …}``; never a stack trace."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BotError)
        status, code = status_for(exc)
        code = getattr(exc, "code", code)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if code == "rate_limited":
            status, headers = 429, {"Retry-After": "60"}
        return JSONResponse({"error": code, "message": str(exc)}, status_code=status, headers=headers)

    async def handle_unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "internal", "message": "internal error"}, status_code=500)

    app.add_exception_handler(BotError, handle)
    app.add_exception_handler(Exception, handle_unexpected)
