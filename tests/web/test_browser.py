"""kith web in a real browser, used as a person would: log in with the link, act on flags, search,
read a person's chart, merge and undo, all with the keyboard too; screenshots at phone and
desktop width in light and dark (tests/artifacts/web/), and axe-core on every page.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kith.analysis.search import fold
from tests.web.browser import axe_violations
from tests.web.conftest import ARTIFACTS, Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PAGES = {"today": "/", "people": "/people", "person": None, "health": "/health", "reports": "/reports"}


def _flags(server: Server) -> list[dict[str, Any]]:
    return json.loads(server.demo.kith("flags", "--json", "--state", "all").stdout)  # type: ignore[no-any-return]


def _contacts(server: Server) -> list[dict[str, Any]]:
    return json.loads(server.demo.kith("contacts", "--json").stdout)  # type: ignore[no-any-return]


@pytest.fixture
def page(browser: Any, web_server: Server) -> Iterator[Any]:
    """A fresh browser context, logged in through a one-time link, that records CSP breaches."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    breaches: list[str] = []
    p.on("console", lambda m: breaches.append(m.text) if "Content Security Policy" in m.text else None)
    p.on("dialog", lambda d: (breaches.append(f"dialog: {d.message}"), d.dismiss()))
    p.goto(web_server.new_login())
    assert p.url == web_server.base + "/"
    yield p
    assert breaches == [], breaches
    context.close()


def _person_with_accent(server: Server) -> dict[str, Any]:
    for c in _contacts(server):
        if c["name"] and fold(c["name"]) != c["name"].lower() and not c["automated"]:
            return c
    raise AssertionError("the sample has no accented name")


def test_login_link_logs_in_once(browser: Any, web_server: Server) -> None:
    link = web_server.new_login()
    context = browser.new_context()
    p = context.new_page()
    p.goto(link)
    assert p.locator("h1").inner_text() == "Today"
    cookie = next(c for c in context.cookies() if c["name"] == "kith_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    other = browser.new_context()
    q = other.new_page()
    response = q.goto(link)
    assert response is not None and response.status == 401
    assert "does not work" in q.locator("h1").inner_text()
    context.close()
    other.close()


def test_done_removes_the_flag_in_place_and_the_cli_agrees(page: Any, web_server: Server) -> None:
    item = page.locator("#h-respond ~ ul .flag").first
    flag_id = int(item.get_attribute("id").removeprefix("flag-"))
    item.get_by_role("button", name=re.compile("^Done")).click()
    settled = page.locator(f"#flag-{flag_id}")
    settled.get_by_role("status").wait_for()
    assert "Done." in settled.inner_text()
    assert page.url == web_server.base + "/"  # updated in place, no navigation
    assert next(f for f in _flags(web_server) if f["id"] == flag_id)["state"] == "dismissed"
    page.reload()
    assert page.locator(f"#flag-{flag_id}").count() == 0


def test_snooze_to_a_date(page: Any, web_server: Server) -> None:
    item = page.locator(".flags .flag").nth(1)
    flag_id = int(item.get_attribute("id").removeprefix("flag-"))
    day = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    item.locator("summary").click()  # the snooze choices fold away under "Snooze"
    item.locator("input[type=date]").fill(day)
    item.get_by_role("button", name="Snooze until date").click()
    page.locator(f"#flag-{flag_id} [role=status]").wait_for()
    assert f"Snoozed until {day}" in page.locator(f"#flag-{flag_id}").inner_text()
    flag = next(f for f in _flags(web_server) if f["id"] == flag_id)
    assert flag["state"] == "snoozed" and flag["snoozed_until"].startswith(day)


def test_open_in_mail_is_the_link_kith_flags_gives(page: Any, web_server: Server) -> None:
    """The web's "Open in mail" (and a person-level flag's "Write" and "Last message") come from
    the report's ``Linker``, as ``kith flags --json`` does: the same flag, the same URL."""
    cli = {f["id"]: f for f in _flags(web_server)}
    shown = page.locator(".flags .flag").evaluate_all(
        """els => els.map(e => ({id: e.id, links: Array.from(e.querySelectorAll('.actions a.button'))
            .map(a => [a.textContent.trim(), a.getAttribute('href')])}))"""
    )
    assert shown
    for item in shown:
        flag = cli[int(item["id"].removeprefix("flag-"))]
        links = dict(item["links"])
        if flag["message_id"]:
            assert links["Open in mail"] == flag["open_url"]
            assert links["Open in mail"].startswith("mid:")  # the demo's mailboxes are Maildir
        else:
            assert links["Write"] == flag["open_url"] and flag["open_url"].startswith("mailto:")
            assert links.get("Last message") == flag.get("thread_url")


def test_sync_health_lists_a_refused_command(page: Any, web_server: Server) -> None:
    page.goto(web_server.base + "/health")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Refused commands")))
    assert "(1 in the last 30 days)" in section.inner_text()
    assert "forged" in section.inner_text() and "#4242" in section.inner_text()


def test_done_works_with_javascript_off(browser: Any, web_server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    p = context.new_page()
    p.goto(web_server.new_login())
    item = p.locator(".flags .flag").first
    flag_id = int(item.get_attribute("id").removeprefix("flag-"))
    item.get_by_role("button", name=re.compile("^Done")).click()
    p.wait_for_load_state()
    assert "Marked done." in p.locator("[role=status]").first.inner_text()
    assert p.locator(f"#flag-{flag_id}").count() == 0
    assert next(f for f in _flags(web_server) if f["id"] == flag_id)["state"] == "dismissed"
    context.close()


def test_search_finds_an_accented_name_typed_without_accents(page: Any, web_server: Server) -> None:
    person = _person_with_accent(web_server)
    typed = fold(person["name"]).split()[-1]  # e.g. "ozturk" for "Anna Öztürk"
    page.goto(web_server.base + "/people")
    page.get_by_label("Search by name, address or domain").press_sequentially(typed, delay=20)
    link = page.locator("#results").get_by_role("link", name=person["name"])
    link.wait_for()
    assert page.url == web_server.base + "/people"  # htmx swapped the results in place


def test_person_chart_is_labelled_for_screen_readers(page: Any, web_server: Server) -> None:
    person = max(_contacts(web_server), key=lambda c: c["personal_in"] + c["personal_out"])
    page.goto(f"{web_server.base}/person?a={person['address']}")
    chart = page.get_by_role("img", name=re.compile("^Interactions per week with"))
    assert chart.count() == 1
    desc_id = chart.get_attribute("aria-labelledby").split()[1]
    desc = page.locator(f"#{desc_id}").text_content()
    assert re.search(r"\d+ personal messages received, \d+ sent and \d+ meetings", desc)
    assert page.locator("svg.chart rect").count() > 0
    page.get_by_text("The numbers behind the chart").click()
    assert page.locator("details table tbody tr").count() > 0
    for label in ("Recency", "Frequency", "Reciprocity", "Meetings"):
        assert page.get_by_label(re.compile(f"^{label}:")).count() == 1


def _wait_for(page: Any, url: str, text: str, *, present: bool = True, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        if (text in page.content()) == present:
            return
        time.sleep(1)
    raise AssertionError(f"{url}: {text!r} {'never appeared' if present else 'never went'}")


def test_merge_two_people_and_undo(page: Any, web_server: Server) -> None:
    people = [
        c for c in _contacts(web_server) if not c["automated"] and c["personal_in"] and "hostile" not in c["address"]
    ]
    keep, other = people[-1], people[-2]
    page.goto(f"{web_server.base}/person?a={keep['address']}")
    page.get_by_label("Merge another person into this one: their address").fill(other["address"])
    page.get_by_role("button", name="Merge", exact=True).click()
    assert "Merged." in page.locator("[role=status]").first.inner_text()
    url = f"{web_server.base}/person?a={keep['address']}"
    _wait_for(page, url, f"<li><bdi>{other['address']}</bdi></li>")
    merged = next(c for c in _contacts(web_server) if c["address"] == keep["address"])
    assert other["address"] in merged["merged"]
    assert all(c["address"] != other["address"] for c in _contacts(web_server))
    page.get_by_role("button", name="Undo this merge").click()
    _wait_for(page, url, f"<li><bdi>{other['address']}</bdi></li>", present=False)
    assert any(c["address"] == other["address"] for c in _contacts(web_server))


def test_keyboard_only(page: Any, web_server: Server) -> None:
    person = _person_with_accent(web_server)
    page.goto(web_server.base + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    # the focus is visible: a 3px outline, not the browser's faint default
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "People"
    page.keyboard.press("Enter")
    page.wait_for_url(web_server.base + "/people")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    page.keyboard.type(fold(person["name"]))
    page.keyboard.press("Enter")  # submits the search form (a plain GET)
    page.wait_for_url(re.compile(r"/people\?q="))
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == person["name"]:
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/person\?a="))
    assert page.locator("h1").inner_text() == person["name"]


def _pages(server: Server) -> dict[str, str]:
    busiest = max(_contacts(server), key=lambda c: c["personal_in"] + c["personal_out"])
    return {k: v or f"/person?a={busiest['address']}" for k, v in PAGES.items()}


def test_screenshots_at_phone_and_desktop_width_light_and_dark(browser: Any, web_server: Server) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []
    for scheme in ("light", "dark"):
        for width in (390, 1280):
            context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
            p = context.new_page()
            p.goto(web_server.new_login())
            for name, path in _pages(web_server).items():
                p.goto(web_server.base + path)
                shot = ARTIFACTS / f"{name}-{width}-{scheme}.png"
                p.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 5000
                # nothing wider than the screen: a phone never scrolls sideways
                assert p.evaluate("document.documentElement.scrollWidth") <= width + 1, (name, width)
                shots.append(shot)
            context.close()
    print("\nweb screenshots:", *shots, sep="\n  ")


def test_axe_finds_no_serious_or_critical_violation(browser: Any, web_server: Server) -> None:
    found = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        p = context.new_page()
        p.goto(web_server.new_login())
        for name, path in _pages(web_server).items():
            p.goto(web_server.base + path)
            violations = axe_violations(p)
            if violations:
                found[f"{name} ({scheme})"] = violations
        context.close()
    assert found == {}, json.dumps(found, indent=1)
