"""Finding 2: a far-future ``Date:`` stopped all analysis. Dates outside the sane range (before 1970,
more than a day after arrival or after now) are stored as written, named as problems, and never
trusted by the analysis: the message counts at its arrival time (the Maildir file's mtime, the
mbox ``From `` line), else at now. Through Maildir and mbox, on SQLite and PostgreSQL, with and
without an arrival time, incremental and rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kith.analysis.api import flags, timeline
from kith.store.engine import Store
from kith.store.models import MessageRow
from tests.hostile.corpus import analyze, config_of, message, place, rfc_date, sync

FAR_FUTURE = "Fri, 31 Dec 9999 23:00:00 +0000"
BEFORE_MAIL = "Mon, 01 Jan 1900 10:00:00 +0000"


@pytest.mark.parametrize("arrival", [True, False], ids=["arrival", "no-arrival"])
@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_an_insane_date_never_stops_the_analysis_nor_dates_a_message(
    kind: str, arrival: bool, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    arrived = now - timedelta(days=3)
    where = place(kind, tmp_path, request)
    # no arrival: an mbox separator line without a date, a Maildir file stamped before 1970
    options = (
        {"envelope": arrived.strftime("%a %b %d %H:%M:%S %Y"), "mtime": arrived.timestamp()}
        if arrival
        else {"envelope": "", "mtime": -1e9}
    )
    where.deliver(
        [
            message("ann", sender="ann@example.org", date=rfc_date(now - timedelta(days=5))),
            message("far", sender="mallory@example.net", date=FAR_FUTURE),
        ],
        **options,
    )
    config = config_of(where.config())
    assert sync(store, where.config(), tmp_path).status == "ok"
    first = analyze(store, config)
    where.deliver([message("old", sender="mallory@example.net", date=BEFORE_MAIL)], **options)
    assert sync(store, where.config(), tmp_path).status == "ok"
    second = analyze(store, config)
    assert second["mode"] == "incremental", (first, second)
    rebuilt = analyze(store, config, rebuild=True)
    assert rebuilt["mode"] == "rebuild"

    with store.engine.connect() as conn:
        rows = {r.message_id: r for r in conn.execute(select(MessageRow.__table__))}
    # stored as the sender wrote them, and named
    assert rows["<hfar@hostile.test>"].date == datetime(9999, 12, 31, 23, tzinfo=UTC)
    assert any(
        "in the future (not trusted)" in p or "after the arrival" in p for p in rows["<hfar@hostile.test>"].problems
    )
    assert any("before 1970 (not trusted)" in p for p in rows["<hold@hostile.test>"].problems)
    with store.session() as s:
        waiting = {f["contact"]["address"]: f for f in flags(s, kind="unanswered", now=now)}
        mallory = timeline(s, "mallory@example.net", now=now)
    assert set(waiting) == {"ann@example.org"}  # the others are analysed as ever
    # not trusted: counted at the arrival time, else at the time of the analysis
    lo, hi = (arrived, arrived + timedelta(seconds=1)) if arrival else (now, datetime.now(UTC) + timedelta(seconds=1))
    if kind == "mbox" and arrival:
        lo = lo.replace(second=lo.second)  # the From line has whole seconds, like ``arrived``
    times = [datetime.fromisoformat(i["at"]) for i in mallory["interactions"]]
    assert len(times) == 2 and all(lo - timedelta(seconds=1) <= t <= hi for t in times), times
