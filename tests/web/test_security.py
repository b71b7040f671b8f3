"""The gate, against ``kith web`` itself: login link, cookie, CSRF, Host, CSP, escaping."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.web.conftest import Server
from tests.web.hostile import HOSTILE

pytestmark = pytest.mark.integration

PAGES = ("/", "/people", "/person?a=script@hostile.example", "/health", "/reports", "/analysis")
POSTS = ("/flags/1/done", "/flags/1/snooze", "/merges", "/merges/1/undo", "/logout")


def test_every_page_answers_401_without_the_login_cookie(web_server: Server) -> None:
    with httpx.Client(base_url=web_server.base) as client:
        for path in PAGES:
            r = client.get(path)
            assert r.status_code == 401, path
            assert "kith web --open" in r.text
    with httpx.Client(base_url=web_server.base, cookies={"kith_session": "abc.1.def"}) as forged:
        assert forged.get("/").status_code == 401


def test_a_login_link_works_once_and_sets_a_strict_httponly_cookie(web_server: Server) -> None:
    link = web_server.new_login()
    with httpx.Client(follow_redirects=False) as client:
        r = client.get(link)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert client.get(f"{web_server.base}/").status_code == 200
    with httpx.Client(follow_redirects=False) as other:
        again = other.get(link)
        assert again.status_code == 401
        assert "kith_session" not in again.headers.get("set-cookie", "")
        assert other.get(link.split("?")[0] + "?token=made-up").status_code == 401


def test_a_post_without_the_csrf_token_is_refused(logged_in: httpx.Client) -> None:
    for path in POSTS:
        r = logged_in.post(path, data={"until": "tomorrow"})
        assert r.status_code == 403, path
        r = logged_in.post(path, data={"csrf": "wrong", "until": "tomorrow"})
        assert r.status_code == 403, path
    # the refusals changed nothing: flag 1 is as it was
    page = logged_in.get("/").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    assert logged_in.post("/flags/999999/done", data={"csrf": token.group(1)}).status_code == 404


def test_a_cross_site_form_cannot_post_even_with_a_json_body(logged_in: httpx.Client) -> None:
    r = logged_in.post("/flags/1/done", content=json.dumps({"csrf": "x"}), headers={"content-type": "application/json"})
    assert r.status_code == 415


def test_a_wrong_host_header_is_refused(logged_in: httpx.Client) -> None:
    for host in ("evil.example", "evil.example:8477", "127.0.0.1.evil.example", ""):
        r = logged_in.get("/", headers={"host": host})
        assert r.status_code == 400, host
    assert logged_in.get("/", headers={"host": "localhost"}).status_code == 200


def test_every_answer_carries_a_strict_csp(logged_in: httpx.Client, web_server: Server) -> None:
    for path in (*PAGES, "/static/kith.css"):
        r = logged_in.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in httpx.get(f"{web_server.base}/").headers  # the 401 too
    for path in PAGES:
        assert "<script>" not in logged_in.get(path).text.replace(
            '<script src="/static/htmx.min.js" defer></script>', ""
        )


def test_hostile_names_and_subjects_are_escaped_everywhere(logged_in: httpx.Client) -> None:
    today = logged_in.get("/").text
    for path in ("/", "/people?automated=all", *(f"/person?a={a}" for _, a, _ in HOSTILE)):
        html = logged_in.get(path).text
        assert "<script>alert" not in html and "<script>document" not in html
        assert "<img src=x" not in html and 'onmouseover=alert(1) x="' not in html.replace("&#34;", "")
        assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
        assert "Z" * 200 not in html  # a 10 KB name is clipped
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in today
    assert "<bdi>\u202egnp.exe Mallory</bdi>" in today  # the override stays inside its own <bdi>
