"""The Graph mail source against what Outlook really does (``tests/fakes/graph/limits.py`` cites each)."""

from __future__ import annotations

import httpx

from kith.connectors.base import MessageRecord
from tests.connectors.contract import Replica
from tests.fakes.graph.limits import RequestWindow, SimClock
from tests.fixtures.graph import GraphEnv


def seed_inbox(env: GraphEnv, n: int) -> None:
    for i in range(n):
        env.fake.mailbox.add(
            "inbox", message_id=f"<in{i}@x>", from_=(f"p{i}@example.org", "P"), headers=[("List-Id", f"<l{i}.x>")]
        )


def inbox_replica(env: GraphEnv, **kw: object) -> tuple[Replica, object]:
    source = env.source(**kw)  # type: ignore[arg-type]
    stream = next(s for s in source.streams() if s.name == "inbox")
    return Replica().sync(source, stream), source


def test_header_batches_stay_within_mailbox_concurrency(graph_env: GraphEnv) -> None:
    """More than 4 parallel parts of a $batch are refused with 429 inside the 200 answer."""
    seed_inbox(graph_env, 45)
    rep, _ = inbox_replica(graph_env)
    assert len(rep.items) == 45
    assert all(isinstance(r, MessageRecord) and r.list_id for r in rep.items.values()), "headers were lost"
    assert graph_env.fake.concurrency_refusals == 0, "batches ran more parts at once than Outlook allows"
    assert graph_env.fake.calls["messages.get"] == 45, "a header was fetched twice"


def test_depends_on_chains_ask_again_for_parts_whose_dependency_failed(graph_env: GraphEnv) -> None:
    seed_inbox(graph_env, 20)
    graph_env.fake.fail("messages.get", 404, code="ErrorItemNotFound", count=1, after=2)
    source = graph_env.source()
    source.client.batch_size = 20  # four dependsOn chains of five
    rep = Replica().sync(source, next(s for s in source.streams() if s.name == "inbox"))
    assert max(graph_env.fake.batch_sizes) == 20 and graph_env.fake.concurrency_refusals == 0
    with_headers = [r for r in rep.items.values() if isinstance(r, MessageRecord) and r.list_id]
    assert len(rep.items) == 19 and len(with_headers) == 19  # the 404 one is gone; its chain came again


def test_pacing_keeps_under_10000_requests_per_10_minutes(graph_env: GraphEnv) -> None:
    """The fake counts Outlook requests (batch parts singly) in a sliding window; kith paces itself."""
    clock = SimClock(rtt=0.0, op_time=0.0)
    graph_env.fake.window = RequestWindow(limit=30, seconds=600, clock=clock)
    seed_inbox(graph_env, 40)
    rep, _ = inbox_replica(graph_env, clock=clock, page_size=10, requests_per_10_minutes=30)
    assert len(rep.items) == 40
    assert graph_env.fake.window.refused == 0, "kith ran into the 10-minute limit instead of pacing"
    assert clock.now >= 600, "more requests than one window allows went out without waiting"


def test_a_no_change_round_keeps_the_fresh_delta_link(graph_env: GraphEnv) -> None:
    seed_inbox(graph_env, 3)
    rep, source = inbox_replica(graph_env)
    first = rep.cursor
    stream = next(s for s in source.streams() if s.name == "inbox")  # type: ignore[attr-defined]
    rep.sync(source, stream)
    assert rep.cursor != first and rep.upserted == 0, "the new deltaLink was not kept"
    graph_env.fake.mailbox.add("inbox", message_id="<later@x>")
    rep.sync(source, stream)
    assert rep.upserted == 1


def test_select_of_an_unknown_property_is_refused_and_kith_selects_none(graph_env: GraphEnv) -> None:
    token = graph_env.fake.issue_token()
    bad = httpx.get(
        graph_env.fake.api_url + "/me/mailFolders/inbox/messages/delta?$select=subject,isArchived",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400 and "isArchived" in bad.json()["error"]["message"]
    seed_inbox(graph_env, 5)
    rep, _ = inbox_replica(graph_env)
    assert len(rep.items) == 5
