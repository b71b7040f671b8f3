"""Rendering from hand-made data: text and HTML say the same, lists are cut, names are escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from kith.report.render import render_report
from tests.report.builders import report_data

TITLES = ("Respond and acknowledge", "Only broadcasting", "Pull back", "Time to reconnect", "Numbers", "Sync health")


def test_every_section_in_both_parts_with_charts() -> None:
    r = render_report(report_data(sync_problem=True), timezone="UTC")
    for title in TITLES:
        assert title.upper() in r.text
        assert title in r.html
    assert "Interactions per week" in r.html and "INTERACTIONS PER WEEK" in r.text
    assert "<img" not in r.html and "<svg" not in r.html
    assert "run `kith auth work`" in r.text and "kith auth work" in r.html
    assert "https://mail.google.com/mail/u/0/#all/" in r.html
    assert "Message-ID: &lt;m1@<wbr>example.<wbr>org&gt;" in r.html
    assert r.subject.startswith("kith Mon 23 Nov: 3 to answer")


def test_email_safe_html_no_scripts_no_external_images() -> None:
    r = render_report(report_data(subjects=("<script>alert(1)</script>",)), timezone="UTC")
    assert "<script" not in r.html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.html
    assert re.findall(r'src="([^"]+)"', r.html) == []  # no images at all: nothing to fetch or block
    assert 'name="color-scheme" content="light dark"' in r.html


def test_empty_day_is_one_line() -> None:
    r = render_report(report_data(empty=True), timezone="UTC")
    body = r.text.split("\n--\n")[0].strip().splitlines()
    assert body[-1] == "Nothing needs your attention today."
    assert [line for line in body if line.strip()] == [body[0], "Nothing needs your attention today."]
    assert "Interactions per week" not in r.html and "INTERACTIONS PER WEEK" not in r.text
    assert "Respond and acknowledge" not in r.html
    assert "nothing needs your attention" in r.subject


def test_five_hundred_open_flags_are_cut_with_and_n_more() -> None:
    r = render_report(report_data(respond=500, max_items=10), timezone="UTC")
    assert "RESPOND AND ACKNOWLEDGE (500)" in r.text
    assert "... and 490 more — run `kith flags --kind unanswered`" in r.text
    assert "… and 490 more — run" in r.html
    assert r.text.count(", waiting ") == 10
    assert r.subject.startswith("kith Mon 23 Nov: 500 to answer")


def test_non_ascii_names_and_subjects() -> None:
    r = render_report(
        report_data(names=("Zoë Šimek-Ørsted", "李小龍"), subjects=("Grüße aus Köln — ½ Angebot", "会议纪要")),
        timezone="UTC",
    )
    for s in ("Zoë Šimek-Ørsted", "李小龍", "Grüße aus Köln — ½ Angebot", "会议纪要"):
        assert s in r.text and s in r.html


def test_times_in_the_configured_zone_across_the_dst_change() -> None:
    now = datetime(2026, 10, 26, 6, 0, tzinfo=UTC)
    data = report_data(day=date(2026, 10, 26), now=now)
    item = data["sections"][0]["items"][-1]
    item["since"] = datetime(2026, 10, 25, 0, 30, tzinfo=UTC).isoformat()  # 02:30 CEST, before the change
    r = render_report(data, timezone="Europe/Berlin")
    assert "since Sun 25 Oct 02:30" in r.text
    assert "Sent by kith at 07:00 CET (Europe/Berlin)." in r.text  # 06:00 UTC is 07:00 in winter time
    summer = render_report(
        report_data(day=date(2026, 10, 20), now=datetime(2026, 10, 20, 5, 0, tzinfo=UTC)), timezone="Europe/Berlin"
    )
    assert "Sent by kith at 07:00 CEST" in summer.text


def test_reconnect_rows_carry_their_date_like_the_other_sections() -> None:
    data = report_data()
    r = render_report(data, timezone="UTC")
    (item,) = next(s for s in data["sections"] if s["key"] == "reconnect")["items"]
    html = r.html.split("Time to reconnect", 1)[1].split("</table>", 1)[0]
    right = html.split('align="right"', 1)[1]  # the column with the age, as in every section
    last = datetime.fromisoformat(item["last_interaction"]).strftime("%d %b %Y")
    assert last in right


def test_the_footer_names_the_time_zone_once() -> None:
    r = render_report(report_data(), timezone="UTC")
    assert "Sent by kith at 06:00 UTC." in r.text and "UTC (UTC)" not in r.text + r.html


def test_message_ids_wrap_only_between_their_parts() -> None:
    from kith.report.formatting import breakable

    html = str(breakable("Message-ID: <CAF=x7Kq9x7Kq9x7Kq9x7Kq9@mail.gmail.com>"))
    assert html.startswith("Message-ID: &lt;CAF=<wbr>")
    assert html.endswith("gmail.<wbr>com&gt;")  # no break opportunity before the closing '>'
    assert "break-all" not in render_report(report_data(), timezone="UTC").html
