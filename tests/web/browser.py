"""Playwright driving Debian's Chromium (no browser download is possible here, nor needed).

``executable_path`` points at /usr/bin/chromium; the flags keep it from calling home. Missing
Chromium or Playwright skips locally with the reason and fails under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.chromium import chromium_path

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed (it is in the [test] extra)")
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    path = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        yield b
        b.close()


def axe_violations(page: Any, *, serious_only: bool = True) -> list[dict[str, Any]]:
    """Run axe-core (vendored) on the page; the serious and critical violations it finds."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }"
    )
    return [v for v in result if not serious_only or v["impact"] in ("serious", "critical")]


__all__ = ["AXE", "FLAGS", "axe_violations", "browser"]
