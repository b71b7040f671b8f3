"""The SVG chart: well-formed, labelled for screen readers, hostile text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from kith.web.charts import Bar, Marker, legend, weekly_chart

NS = "{http://www.w3.org/2000/svg}"


def test_chart_is_valid_svg_with_a_title_and_description() -> None:
    start = date(2025, 1, 6)
    bars = [Bar(start + timedelta(weeks=i), (i % 3, i % 2, 1 if i == 5 else 0)) for i in range(104)]
    svg = weekly_chart(
        bars,
        [Marker(start + timedelta(weeks=10), "acquaintance → build-up"), Marker(date(2000, 1, 1), "outside")],
        ident="w",
        title='With <script>alert(1)</script> "x"',
        desc="desc",
    )
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "w-title w-desc"
    assert root.find(f"{NS}title").text == 'With <script>alert(1)</script> "x"'  # escaped in the markup
    assert "<script>" not in str(svg)
    assert root.get("viewBox") and "style" not in str(svg)  # no inline style: the CSP forbids it
    assert len(root.findall(f".//{NS}line[@class='marker']")) == 1  # the marker outside the span is left out
    assert len(root.findall(f".//{NS}rect")) == sum(1 for b in bars for c in b.counts if c)
    ET.fromstring(str(legend()))


def test_empty_chart_still_draws() -> None:
    ET.fromstring(str(weekly_chart([], [], ident="e", title="t", desc="d")))
