"""The report HTML as a browser lays it out: headless Chromium at phone (390 px) and desktop width.

Screenshots are kept in tests/artifacts/report/ (gitignored) for a human to look at. What is
asserted is measured in the page itself: a script appended to a copy of the HTML reads the
laid-out boxes (``getBoundingClientRect``, computed font sizes) and leaves the result in the DOM
that ``--dump-dom`` prints. At 390 px the chart labels must be at least 12 px (the old PNG charts
shrank theirs to about 5 px), nothing may stick out sideways, and no Message-ID may wrap leaving
its closing ``>`` alone on a line.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kith.report.api import write_files
from kith.report.render import render_report
from tests.fixtures.chromium import chromium_path
from tests.report.builders import report_data

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "report"
TITLES = (
    "Respond and acknowledge",
    "Only broadcasting",
    "Pull back",
    "Time to reconnect",
    "Stage changes",
    "Numbers",
    "Interactions per week",
    "My reply time per week",
    "Sync health",
)

#: A page holding the report in an iframe of the width under test (headless Chromium will not make
#: its own window narrower than 500 px for --dump-dom); once loaded, a script measures the laid-out
#: report and writes the result into the outer page's <body data-measured>.
MEASURE = """
<script>
window.addEventListener('load', function () {
  var frame = document.getElementById('page');
  measure(frame.contentDocument, frame.contentWindow);
});
function measure(document, window) {
  function px(el) { return parseFloat(window.getComputedStyle(el).fontSize); }
  var out = {width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth};
  // chart labels: the text cells of the two charts (week dates and values)
  var charts = Array.from(document.querySelectorAll('p')).filter(function (p) {
    return /per week/.test(p.textContent);
  });
  out.charts = charts.length;
  out.chart_text_px = [];
  charts.forEach(function (p) {
    var el = p.nextElementSibling;
    while (el && el.tagName !== 'TABLE' && el.tagName !== 'IMG') { el = el.nextElementSibling; }
    if (!el) { return; }
    el.querySelectorAll('td').forEach(function (td) {
      if (td.children.length === 0 && td.textContent.trim()) { out.chart_text_px.push(px(td)); }
    });
    if (el.tagName === 'IMG') {  // a picture of text (7 pt labels drawn at 200 dpi): the scale it is shown at
      out.chart_text_px.push(7 / 72 * 200 * el.getBoundingClientRect().width / el.naturalWidth);
    }
  });
  // Message-IDs: the line of the closing '>' against the line of the character before it
  out.lone = [];
  out.ids = 0;
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT);
  while (walker.nextNode()) {
    var el = walker.currentNode;
    var text = el.textContent;
    var inner = Array.from(el.children).filter(function (c) { return c.tagName !== 'WBR'; });
    if (inner.length > 0 || !/^(Message-ID: <|rfc822msgid:)/.test(text.trim())) { continue; }
    out.ids += 1;
    var range = document.createRange();
    var nodes = [], w = document.createTreeWalker(el, window.NodeFilter.SHOW_TEXT);
    while (w.nextNode()) { nodes.push(w.currentNode); }
    var last = nodes[nodes.length - 1], before = null;
    for (var i = nodes.length - 1; i >= 0 && before === null; i--) {
      var n = nodes[i], k = (n === last ? n.length - 2 : n.length - 1);
      if (k >= 0) { before = [n, k]; }
    }
    range.setStart(last, last.length - 1); range.setEnd(last, last.length);
    var endTop = range.getBoundingClientRect().top;
    range.setStart(before[0], before[1]); range.setEnd(before[0], before[1] + 1);
    if (Math.abs(range.getBoundingClientRect().top - endTop) > 2) { out.lone.push(text.trim()); }
  }
  window.parent.document.body.setAttribute('data-measured', JSON.stringify(out));
}
</script>
"""


def _chromium() -> str:
    return chromium_path()


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=60, check=True)


def _measure(browser: str, profile: Path, page: Path, width: int) -> dict[str, Any]:
    probe = page.with_name(f"{page.stem}-at-{width}.html")
    frame = f'<iframe id="page" src="{page.name}" style="width:{width}px;height:4000px;border:0"></iframe>'
    probe.write_text(f"<!DOCTYPE html><html><body style='margin:0'>{frame}{MEASURE}</body></html>", encoding="utf-8")
    args = ("--allow-file-access-from-files", "--window-size=1400,2000", "--virtual-time-budget=5000", "--dump-dom")
    dom = _run(browser, profile, *args, probe.resolve().as_uri()).stdout
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, "the measuring script did not run"
    return json.loads(htmllib.unescape(found.group(1)))  # type: ignore[no-any-return]


def _data_with_long_ids() -> dict[str, Any]:
    """Twenty-five people waiting, their Message-IDs of every length from 30 to 90 characters,
    so that at 390 px some of them wrap wherever a line happens to end."""
    data = report_data(respond=25, names=("Zoë Šimek",) * 25, sync_problem=True, max_items=25)
    for n, item in enumerate(data["sections"][0]["items"]):
        local = f"CAF{n:02d}" + "x7Kq9" * 20
        mid = f"<{local[: 18 + 3 * n]}@mail.gmail.example.com>"
        item["message_id"], item["link"] = mid, {"kind": "message_id", "url": None, "hint": f"Message-ID: {mid}"}
    return data


def test_report_reads_well_in_chromium_at_phone_and_desktop_width(tmp_path: Path) -> None:
    browser = _chromium()
    data = _data_with_long_ids()
    rendered = render_report(data, timezone="Europe/Berlin")
    page, _ = write_files(rendered, day=date.fromisoformat(data["date"]), directory=ARTIFACTS)
    for label, width in (("phone", 390), ("desktop", 1280)):
        shot = ARTIFACTS / f"report-{label}.png"
        shot.unlink(missing_ok=True)
        _run(browser, tmp_path / f"shot-{label}", f"--screenshot={shot}", f"--window-size={width},3000", page.as_uri())
        assert shot.stat().st_size > 10_000, f"{shot} looks empty"
        got = _measure(browser, tmp_path / f"measure-{label}", page, width)
        assert got["width"] == width and got["scroll"] <= width, f"{label}: something sticks out sideways: {got}"
        problems = []
        if not (got["charts"] == 2 and got["chart_text_px"]):
            problems.append(f"charts not found: {got}")
        elif min(got["chart_text_px"]) < 12:
            problems.append(f"chart text of {min(got['chart_text_px']):.1f} px")
        if got["ids"] != 25 or got["lone"]:
            problems.append(f"{got['ids']} Message-IDs, a '>' alone on its line after: {got['lone'][:3]}")
        assert not problems, f"{label}: {problems}"
    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", page.resolve().as_uri()).stdout
    for title in TITLES:
        assert title in dom
    assert "Zoë Šimek" in dom
    print("\nreport screenshots:", *(ARTIFACTS / f"report-{x}.png" for x in ("phone", "desktop")), page, sep="\n  ")
