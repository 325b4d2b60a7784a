"""How ``web_widget.serve`` serves the pages and assets: CSP and security headers, hashed URLs, caching."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.server.app import create_app
from tests.harness import make_settings
from web_widget.serve import ROOT, content_hash


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # No lifespan: the static routes need none of the service's parts.
    yield TestClient(create_app(make_settings(tmp_path)))


def csp_directives(value: str) -> dict[str, str]:
    return {
        d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
        for d in (p.strip() for p in value.split(";"))
    }


@pytest.mark.parametrize("path", ["/", "/agent"])
def test_html_pages_carry_a_strict_csp_and_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = csp_directives(r.headers["content-security-policy"])
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'self'"
    assert "ws:" in csp["connect-src"] and "wss:" in csp["connect-src"]
    assert "unsafe" not in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", ["/", "/agent"])
def test_html_pages_have_no_inline_script_style_or_handlers(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "every script is loaded from a file"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html, re.I), "no inline event handlers"


def test_pages_reference_content_hashed_assets_that_are_cached_for_good(client: TestClient) -> None:
    html = client.get("/agent").text
    refs = re.findall(r'(?:src|href)="(/console/[0-9a-f]{12}/[^"]+)"', html)
    assert refs and all(ref.split("/")[2] == content_hash(("console", "shared")) for ref in refs)
    for ref in refs:
        r = client.get(ref)
        assert r.status_code == 200, ref
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
    js = client.get(next(ref for ref in refs if ref.endswith(".js")))
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"


def test_the_loader_names_the_widget_version_and_revalidates(client: TestClient) -> None:
    r = client.get("/widget/cardcare.js")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["access-control-allow-origin"] == "*"
    version = content_hash(("widget", "shared"))
    assert f"'{version}'" in r.text and "__CARDCARE_VERSION__" not in r.text
    assert client.get("/widget/cardcare.js", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    module = client.get(f"/widget/{version}/widget/main.js")
    assert module.status_code == 200
    assert module.headers["access-control-allow-origin"] == "*", (
        "the widget's modules load on the bank's origin"
    )
    assert (
        client.get(f"/widget/{version}/widget/widget.css").headers["content-type"]
        == "text/css; charset=utf-8"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/widget/{v}/serve.py",
        "/widget/{v}/__init__.py",
        "/widget/{v}/console/console.js",
        "/widget/{v}/../serve.py",
        "/widget/{v}/widget/../../serve.py",
        "/widget/{v}/package.json",
        "/widget/0123456789ab/widget/main.js",
    ],
)
def test_only_asset_files_of_the_bundle_are_served(client: TestClient, path: str) -> None:
    r = client.get(path.format(v=content_hash(("widget", "shared"))))
    assert r.status_code == 404


def test_outside_demo_mode_the_home_page_only_says_it_is_running(tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(tmp_path, demo=False)))
    r = client.get("/")
    assert r.status_code == 200 and "cardcare is running" in r.text
    assert "content-security-policy" in r.headers
    assert "/api/v1/demo" not in r.text
    assert (ROOT / "demo" / "index.html").exists()
