"""The report's data from a real store: reply times, links, sync health, and (with the analysis
package) the sections on the sample corpus against the flags in the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kith.config.load import Config
from kith.config.models import GlobalConfig, MeConfig, ReportConfig
from kith.connectors.base import Address, Batch, MessageRecord, Role, Stream
from kith.report.data import message_places, numbers, sync_health
from kith.report.numbers import reply_times
from kith.store.engine import Store
from kith.store.ingest import apply_batch
from kith.store.state import ensure_mailbox, ensure_streams, finish_stream, set_mailbox_health

ME = "me@example.org"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def msg(key: str, when: datetime, sender: str, to: str, **kw: object) -> MessageRecord:
    return MessageRecord(
        provider_key=key,
        message_id=f"<{key}@example.org>",
        date=when,
        subject=f"subject {key}",
        from_=Address(sender),
        to=(Address(to),),
        **kw,  # type: ignore[arg-type]
    )


def ingest(store: Store, mailbox: str, kind: str, stream: str, records: list[MessageRecord]) -> None:
    with store.session() as session:
        conn = session.connection()
        mb = ensure_mailbox(conn, mailbox, kind)
        (st,) = ensure_streams(conn, mb, [Stream(stream, Role.ALL)])
        apply_batch(conn, st.ref, Batch(upserts=tuple(records)))
        finish_stream(conn, st.ref.id, error=None, now=T0 + timedelta(days=3))


def test_reply_times_count_my_replies_to_people_once(store: Store) -> None:
    records = [
        msg("a", T0, "ann@example.com", ME, thread_id="18c2f0a1b2c3d4e5"),
        msg("b", T0 + timedelta(hours=3), ME, "ann@example.com", in_reply_to="<a@example.org>"),
        msg("news", T0, "news@list.example.com", ME, list_id="<news.example.com>"),
        msg("c", T0 + timedelta(hours=1), ME, "news@list.example.com", in_reply_to="<news@example.org>"),
    ]
    ingest(store, "work", "gmail", "all", records)
    ingest(store, "copy", "imap", "[Gmail]/All Mail", records[:2])  # the same two messages in a second mailbox
    with store.session() as session:
        got = reply_times(session, {ME}, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
        places = message_places(session, ["<a@example.org>", "<missing@example.org>"])
    assert [(at, round(h, 2)) for at, h in got] == [(T0 + timedelta(hours=3), 3.0)]
    subject, where = places["<a@example.org>"]
    assert subject == "subject a"
    assert (where.mailbox_kind, where.thread_id) == ("gmail", "18c2f0a1b2c3d4e5")
    assert "<missing@example.org>" not in places


def test_numbers_use_local_calendar_days(sqlite_store: Store) -> None:
    """A reply at 23:30 Berlin time on the 25th (the 25-hour day) belongs to the 25th, not the 26th."""
    asked = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    late = datetime(2026, 10, 25, 22, 30, tzinfo=UTC)  # 23:30 CET, still Sunday the 25th
    next_day = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)  # 00:30 CET Monday the 26th
    ingest(
        sqlite_store,
        "work",
        "imap",
        "INBOX",
        [
            msg("q1", asked, "ann@example.com", ME),
            msg("r1", late, ME, "ann@example.com", in_reply_to="<q1@example.org>"),
            msg("q2", asked, "bob@example.com", ME),
            msg("r2", next_day, ME, "bob@example.com", in_reply_to="<q2@example.org>"),
        ],
    )
    config = Config(settings=GlobalConfig(me=MeConfig(addresses=(ME,)), report=ReportConfig(timezone="Europe/Berlin")))
    with sqlite_store.session() as session:
        nums, weekly, trend = numbers(session, config, day=date(2026, 10, 26))
    assert nums["day"]["replies"] == 1 and nums["day"]["reply_median_hours"] == 10.5
    assert nums["week"]["replies"] == 1  # the 7 days before the 26th end at Monday 00:00 CET
    assert len(weekly) == len(trend) == 12 and trend[-1]["week_start"] == "2026-10-19"
    assert nums["reply_median_90d_count"] == 1


def test_sync_health_names_the_fix(sqlite_store: Store) -> None:
    now = T0 + timedelta(days=3)
    ingest(sqlite_store, "home", "imap", "INBOX", [msg("h", T0, "ann@example.com", ME)])
    ingest(sqlite_store, "work", "gmail", "all", [msg("w", T0, "bob@example.com", ME)])
    with sqlite_store.session() as session:
        conn = session.connection()
        work = ensure_mailbox(conn, "work", "gmail")
        set_mailbox_health(conn, work, auth_error="invalid_grant: token revoked")
        ensure_mailbox(conn, "old", "imap")
    config = Config(settings=GlobalConfig())
    with sqlite_store.session() as session:
        fine = sync_health(session, config, now=now + timedelta(minutes=5))
        late = sync_health(session, config, now=now + timedelta(days=2))
    by_box = {p["mailbox"]: p for p in fine["problems"]}
    assert not fine["healthy"] and fine["mailboxes"] == 3
    assert by_box["work"]["fix"] == "kith auth work" and "token revoked" in by_box["work"]["problem"]
    assert by_box["old"]["problem"] == "never synced"
    assert "home" not in by_box
    assert any(p["mailbox"] == "home" and "no successful sync" in p["problem"] for p in late["problems"])


@pytest.mark.integration
def test_report_on_the_sample_corpus_matches_the_open_flags(tmp_path: Path) -> None:
    from kith.analysis import api as analysis
    from kith.cli.demo_pipeline import run_demo
    from kith.report.api import build_report, render_report
    from kith.store.engine import store_for

    result = run_demo(tmp_path / "demo", messages=600, seed=3)
    from kith.config.load import load_config

    config = load_config(result.config_path)
    store = store_for(config)
    truth_now = datetime.fromisoformat(__import__("json").loads(result.truth_path.read_text())["now"])  # type: ignore[union-attr]
    try:
        with store.session() as session:
            flags = analysis.flags(session, kind=None, state="open", now=truth_now)
            data = build_report(session, config, day=truth_now.date(), now=truth_now)
    finally:
        store.dispose()
    by_key = {s["key"]: s for s in data["sections"]}
    kinds = {
        "respond": "unanswered",
        "broadcast_only": "broadcast_only",
        "pull_back": "one_sided",
        "reconnect": "reconnect",
    }
    for key, kind in kinds.items():
        expected = [f for f in flags if f["kind"] == kind]
        assert by_key[key]["total"] == len(expected), key
        shown = {i["flag_id"] for i in by_key[key]["items"]}
        assert shown <= {f["id"] for f in expected}
    respond = by_key["respond"]["items"]
    assert [i["since"] for i in respond] == sorted(i["since"] for i in respond)
    assert all(i["link"]["hint"] for i in respond)
    assert result.report_html is not None and result.report_html.exists()
    rendered = render_report(data, timezone=config.settings.report.timezone)
    # the sample corpus plants unanswered mail: the section is there, never excused by "empty"
    assert respond and not data["empty"]
    assert "Respond and acknowledge" in rendered.html
