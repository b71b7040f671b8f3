"""The Graph mail source against the fake Graph API: delta paging, headers, throttling, crashes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kith.connectors.base import MessageRecord, Role, Stream
from kith.connectors.graph.mail import GraphMailSource
from kith.connectors.graph.records import MESSAGE_FIELDS
from kith.errors import AuthError, ConfigError, TransientError
from tests.connectors.contract import Replica
from tests.fakes import replica
from tests.fixtures.graph import GraphEnv

FOLDERS = ("inbox", "sentitems", "archive")


def sync_all(source: GraphMailSource, reps: dict[str, Replica] | None = None) -> dict[str, Replica]:
    reps = reps if reps is not None else {}
    for stream in source.streams():
        reps.setdefault(stream.name, Replica()).sync(source, stream)
    return reps


def inbox(source: GraphMailSource):  # type: ignore[no-untyped-def]
    return next(s for s in source.streams() if s.name == "inbox")


def test_initial_sync_selects_pages_and_fetches_headers_only_for_others(graph_env: GraphEnv) -> None:
    fake, box = graph_env.fake, graph_env.fake.mailbox
    box.seed(90)
    box.add("junkemail", message_id="<junk@x>")
    box.add("drafts", message_id="<draft@x>", from_=(box.email, "Me"))
    fake.reset_counts()
    source = graph_env.source(page_size=25)
    assert [(s.name, s.role) for s in source.streams()] == [
        ("inbox", Role.INBOX),
        ("sentitems", Role.SENT),
        ("archive", Role.ARCHIVE),
    ]
    reps = sync_all(source)
    sizes = {f: len(box.in_folder(f)) for f in FOLDERS}
    for f in FOLDERS:
        assert set(reps[f].items) == box.in_folder(f)
        assert reps[f].cursor is not None and set(reps[f].cursor) == {"delta"}
    # only the record's fields are asked for, pages as big as configured
    assert fake.selects == [",".join(MESSAGE_FIELDS)] * 3 and set(fake.page_sizes) == {25}
    assert fake.requests["api"] == sum(max(1, math.ceil(n / 25)) for n in sizes.values())
    # raw headers: one $batch per 20 messages from others, never for my sent mail
    others = sizes["inbox"] + sizes["archive"]
    assert fake.calls["messages.get"] == others == source.stats["header_calls"]
    assert max(fake.batch_sizes) <= 20 and fake.requests["batch"] == source.stats["header_batches"]
    listed = [r for r in reps["inbox"].items.values() if isinstance(r, MessageRecord)]
    bulk = [r for r in listed if r.message_id and int(r.message_id.split(".")[1].split("@")[0]) % 7 == 0]
    assert bulk and all(r.list_id and r.precedence == "bulk" for r in bulk)
    assert all(r.return_path for r in listed) and all(r.thread_id for r in listed)


def test_no_change_incremental_is_one_request_per_folder(graph_env: GraphEnv) -> None:
    graph_env.fake.mailbox.seed(40)
    source = graph_env.source()
    reps = sync_all(source)
    graph_env.fake.reset_counts()
    batches = [b for s in source.streams() for b in source.pull(s, reps[s.name].cursor, reps[s.name].known)]
    # Graph ends every round with a fresh deltaLink: kith keeps the one it was given last, and
    # nothing else (no records, no deletions)
    assert all(not len(b) for b in batches), "a no-change poll must write nothing but the new cursor"
    assert [b.cursor for b in batches if b.cursor] == [b.cursor for b in batches] and all(
        b.cursor != reps[s.name].cursor for b, s in zip(batches, source.streams(), strict=True)
    )
    assert dict(graph_env.fake.requests) == {"api": 3, "total": 3}


def test_incremental_adds_updates_moves_deletes(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    a, b, c, d = (box.add("inbox", message_id=f"<{n}@x>", subject=n) for n in "abcd")
    source = graph_env.source()
    reps = sync_all(source)
    new = box.add("inbox", message_id="<new@x>", headers=[("Auto-Submitted", "auto-replied")])
    box.delete(a)
    box.update(b, isRead=True, flag={"flagStatus": "flagged"}, categories=["Red"])
    box.move(c, "archive")
    box.set_answered(d)
    graph_env.fake.reset_counts()
    sync_all(source, reps)
    assert set(reps["inbox"].items) == {b, d, new} and set(reps["archive"].items) == {c}
    assert reps["inbox"].flags[b] == frozenset({"\\Seen", "\\Flagged"})
    rec_b = reps["inbox"].items[b]
    assert isinstance(rec_b, MessageRecord) and "Red" in rec_b.labels
    assert "\\Answered" in reps["inbox"].flags[d]
    rec_new = reps["inbox"].items[new]
    assert isinstance(rec_new, MessageRecord) and rec_new.auto_submitted == "auto-replied"
    moved = reps["archive"].items[c]
    assert isinstance(moved, MessageRecord) and moved.message_id == "<c@x>"  # immutable id kept
    # one delta request per folder; headers only for the changed messages from others
    assert graph_env.fake.calls["messages.delta"] == 3 and graph_env.fake.calls["messages.get"] == 4


def test_mid_paging_cursor_is_the_next_link_and_resume_does_not_refetch(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    for i in range(25):
        box.add("inbox", message_id=f"<p{i}@x>")
    source = graph_env.source(page_size=10)
    rep = Replica().sync(source, inbox(source), limit=1)
    assert len(rep.items) == 10 and rep.cursor is not None
    assert rep.cursor["next"].startswith(graph_env.fake.api_url) and "gen" in rep.cursor and "delta" not in rep.cursor
    graph_env.fake.reset_counts()
    source = graph_env.source(page_size=10)
    rep.sync(source, inbox(source))
    assert set(rep.items) == box.in_folder("inbox") and rep.upserted == 15
    assert graph_env.fake.calls["messages.get"] == 15 and set(rep.cursor) == {"delta"}


def test_expiry_mid_listing_resyncs_exactly(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    ids = [box.add("inbox", message_id=f"<e{i}@x>") for i in range(25)]
    source = graph_env.source(page_size=10)
    rep = Replica().sync(source, inbox(source), limit=1)
    gone = next(iter(rep.items))
    box.delete(gone)
    box.expire_tokens()  # the nextLink now answers 410 syncStateNotFound
    rep.sync(source, inbox(source))
    assert set(rep.items) == set(ids) - {gone}, "the resync must drop what the first listing had left"


def test_throttled_page_is_retried_not_lost_and_retry_after_honoured(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    for i in range(30):
        box.add("inbox", message_id=f"<t{i}@x>")
    graph_env.fake.fail("messages.delta", 429, after=1, retry_after="7")
    graph_env.fake.fail("messages.delta", 503, after=2, retry_after="1")
    graph_env.fake.fail("messages.delta", 504, after=2)
    source = graph_env.source(page_size=10)
    rep = Replica().sync(source, inbox(source))
    assert set(rep.items) == box.in_folder("inbox") and len(rep.items) == 30
    assert rep.batches == 3 and graph_env.fake.calls["messages.delta"] == 3 + 3
    assert 7.0 in graph_env.sleeps and 1.0 in graph_env.sleeps


def test_throttled_batch_parts_are_retried_alone(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    for i in range(45):
        box.add("inbox", message_id=f"<h{i}@x>", headers=[("List-Id", f"<l{i}.x>")])
    graph_env.fake.fail("messages.get", 429, after=5, count=3, retry_after="2")
    graph_env.fake.fail("batch", 503, count=1)
    source = graph_env.source()
    rep = Replica().sync(source, inbox(source))
    assert all(isinstance(r, MessageRecord) and r.list_id for r in rep.items.values()) and len(rep.items) == 45
    assert 2.0 in graph_env.sleeps and graph_env.fake.calls["messages.get"] == 45 + 3
    # only the 3 throttled parts went again, with the 9 chained behind them (424: never run)
    assert graph_env.fake.batch_sizes[-1] == 3 + 9


def test_persistent_server_errors_become_transient_error(graph_env: GraphEnv) -> None:
    graph_env.fake.mailbox.add("inbox", message_id="<x@x>")
    source = graph_env.source()
    rep = Replica().sync(source, inbox(source))
    graph_env.fake.fail("messages.delta", 503, count=100, retry_after="3")
    with pytest.raises(TransientError) as err:
        rep.sync(source, inbox(source))
    assert err.value.retry_after == 3.0 and graph_env.fake.calls["messages.delta"] == 1 + 4


def test_401_refreshes_once_then_is_an_auth_error(graph_env: GraphEnv) -> None:
    graph_env.fake.mailbox.add("inbox", message_id="<x@x>")
    token = graph_env.token()
    source = graph_env.source(token=token)
    rep = Replica().sync(source, inbox(source))
    graph_env.fake.expire_access_tokens()  # the token died early: 401, one refresh, retry
    graph_env.fake.mailbox.add("inbox", message_id="<y@x>")
    rep.sync(source, inbox(source))
    assert len(rep.items) == 2 and token.refreshes == 1
    graph_env.fake.fail("messages.delta", 401, count=10)
    with pytest.raises(AuthError) as err:
        rep.sync(source, inbox(source))
    assert token.refreshes == 2 and err.value.hint is not None and "kith auth work" in err.value.hint


def test_sigkill_mid_sync_then_resume(graph_env: GraphEnv, tmp_path: Path) -> None:
    box = graph_env.fake.mailbox
    for i in range(30):
        box.add("inbox", message_id=f"<k{i}@x>")
    graph_env.fake.fail("messages.delta", None, after=1, delay=60)  # page 2 hangs: the child is mid-sync
    out = tmp_path / "replica.json"
    mailbox = graph_env.mailbox(page_size=10, calendar=False)
    token = graph_env.fake.issue_token()
    state = replica.kill_after_first_batch(
        "tests.connectors.graph.crash_child",
        mailbox.model_dump_json(),
        token,
        str(out),
        replica=out,
        release=graph_env.fake.release,
    )
    assert len(state["items"]) == 10 and "next" in state["cursor"]
    graph_env.fake.reset_counts()
    source = graph_env.source(page_size=10)
    for batch in source.pull(inbox(source), state["cursor"]):
        replica.apply(state, batch)
    assert set(state["items"]) == box.in_folder("inbox") and "delta" in state["cursor"]
    assert graph_env.fake.calls["messages.get"] == 20, "the resumed sync re-fetched what the first run had"
    assert state["items"] == {m.id: m.fields["internetMessageId"] for m in box.messages.values()}


def test_folder_roles_and_app_only_paths(graph_env: GraphEnv) -> None:
    source = graph_env.source(
        folders=("inbox", "sentitems", "junkemail", "deleteditems", "Projects", "Old"),
        include_roles=("junk",),
        roles={"Projects": "archive"},
        exclude=("Old",),
    )
    assert [(s.name, s.role) for s in source.streams()] == [
        ("inbox", Role.INBOX),
        ("sentitems", Role.SENT),
        ("junkemail", Role.JUNK),
        ("Projects", Role.ARCHIVE),
    ]
    with pytest.raises(ConfigError, match="user"):
        graph_env.source(auth="client_credentials")
    graph_env.fake.mailbox.add("inbox", message_id="<app@x>")
    app_token = graph_env.fake.issue_token("app")
    source = graph_env.source(
        auth="client_credentials", user="me@example.com", token=lambda force_refresh=False: app_token
    )
    assert source.base == "/users/me@example.com"
    assert len(Replica().sync(source, inbox(source)).items) == 1


def test_header_fetch_refused_by_permissions_degrades_once(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    for i in range(30):
        box.add("inbox", message_id=f"<f{i}@x>")
    graph_env.fake.fail("messages.get", 403, count=1000, code="ErrorAccessDenied")
    source = graph_env.source(page_size=10)
    rep = Replica().sync(source, inbox(source))
    assert len(rep.items) == 30 and graph_env.fake.requests["batch"] == 1, "kept asking after a 403"
    assert len(source.alerts) == 1 and "Mail.Read" in source.alerts[0]


def test_user_folder_by_display_name(graph_env: GraphEnv) -> None:
    box = graph_env.fake.mailbox
    fid = box.create_folder("Client's Projects")
    mine = box.add(fid, message_id="<proj@x>")
    source = graph_env.source(folders=("Client's Projects",), roles={"Client's Projects": "archive"})
    (stream,) = source.streams()
    rep = Replica().sync(source, stream)
    assert set(rep.items) == {mine} and stream.role is Role.ARCHIVE
    assert graph_env.fake.calls["folders.list"] == 1
    box.add(fid, message_id="<proj2@x>")
    rep.sync(source, stream)
    assert len(rep.items) == 2 and graph_env.fake.calls["folders.list"] == 1, "the deltaLink needs no lookup"
    with pytest.raises(ConfigError, match="Nope"):
        Replica().sync(graph_env.source(folders=("Nope",)), Stream("Nope", Role.OTHER))
