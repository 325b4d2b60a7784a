"""Serves the customer widget, the agent console and the demo page: static files, no build step.

URLs (``mount_web`` adds them to the app):

* ``/widget/cardcare.js`` — the one-tag loader banks embed. Revalidated on every page load
  (``no-cache`` + ETag); it carries the content hash of the widget's files.
* ``/widget/<hash>/…``, ``/console/<hash>/…``, ``/demo/<hash>/…`` — the ES modules and styles
  under a content-hashed prefix, cached for a year (``immutable``). The prefix covers a whole
  folder tree so that relative imports between modules keep working unchanged.
* ``/agent`` — the agent console page; ``/`` — the demo bank-app page (demo mode) or a short
  "cardcare is running" page.

HTML pages get a strict Content-Security-Policy (no inline script or style, Trusted Types so
that no code path can assign HTML strings), ``nosniff`` and a referrer policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ROOT = Path(__file__).resolve().parent
ASSET_SUFFIXES = frozenset({".js", ".css", ".svg", ".png", ".ico", ".woff2"})
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
LONG_CACHE = "public, max-age=31536000, immutable"
VERSION_TOKEN = "__CARDCARE_VERSION__"

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

# Which folders each hashed prefix exposes (never serve.py, never anything outside these).
BUNDLES: dict[str, tuple[str, ...]] = {
    "widget": ("widget", "shared"),
    "console": ("console", "shared"),
    "demo": ("demo", "shared"),
}


def _asset_files(folders: Iterable[str]) -> list[Path]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*") if p.is_file()]
    return sorted(p for p in files if p.suffix in ASSET_SUFFIXES)


def content_hash(folders: Iterable[str]) -> str:
    """A short hash of every served file under ``folders`` (names and bytes)."""
    digest = hashlib.sha256()
    for path in _asset_files(folders):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class AssetFiles(StaticFiles):
    """``StaticFiles`` over some folders of ``web_widget/`` and asset file types only, cached for good."""

    def __init__(self, folders: tuple[str, ...], *, cross_origin: bool) -> None:
        super().__init__(directory=ROOT)
        self.folders = folders
        self.cross_origin = cross_origin

    async def get_response(self, path: str, scope: Scope) -> Response:
        parts = PurePosixPath(path).parts
        if not parts or parts[0] not in self.folders or PurePosixPath(path).suffix not in ASSET_SUFFIXES:
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = LONG_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        content_type = CONTENT_TYPES.get(PurePosixPath(path).suffix)
        if content_type and response.status_code == 200:
            response.headers["Content-Type"] = content_type
        if self.cross_origin:
            # The widget runs on the bank's pages: module scripts from another origin need CORS.
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        else:
            response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response


def _page(template: str, versions: dict[str, str]) -> str:
    text = (ROOT / template).read_text(encoding="utf-8")
    for name, version in versions.items():
        text = text.replace("{{%s}}" % name, f"/{name}/{version}")  # noqa: UP031 - braces in the template
    return text


def _html(body: str) -> Response:
    return Response(body, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def mount_web(app: Starlette, *, demo: bool) -> None:
    """Add the widget, console and demo routes to ``app`` (called by ``bot.server.app.create_app``)."""
    versions = {name: content_hash(folders) for name, folders in BUNDLES.items()}
    for name, folders in BUNDLES.items():
        if name == "demo" and not demo:
            continue
        files = AssetFiles(folders, cross_origin=name == "widget")
        app.router.routes.append(
            Mount(f"/{name}/{versions[name]}", app=GZipMiddleware(files, minimum_size=400))
        )

    loader = (
        (ROOT / "widget" / "cardcare.js")
        .read_text(encoding="utf-8")
        .replace(VERSION_TOKEN, versions["widget"])
    )
    loader_etag = '"%s"' % hashlib.sha256(loader.encode()).hexdigest()[:16]  # noqa: UP031
    console_page = _page("console/index.html", versions)
    home_page = _page("demo/index.html" if demo else "running.html", versions)

    async def widget_loader(request: Request) -> Response:
        headers = {
            "Cache-Control": "no-cache",
            "ETag": loader_etag,
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if request.headers.get("if-none-match") == loader_etag:
            return Response(status_code=304, headers=headers)
        return Response(loader, media_type="text/javascript; charset=utf-8", headers=headers)

    async def agent_console(_request: Request) -> Response:
        return _html(console_page)

    async def home(_request: Request) -> Response:
        return _html(home_page)

    app.add_route("/widget/cardcare.js", widget_loader, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/agent", agent_console, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/", home, methods=["GET", "HEAD"], include_in_schema=False)
