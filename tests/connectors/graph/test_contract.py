"""The Graph mail source against the fake Graph API: the shared connector contract."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from kith.connectors.base import JSON, Source, Stream
from tests.connectors.contract import ConnectorContract, TestMessage
from tests.fixtures.graph import GraphEnv


class GraphHarness:
    """Changes the fake mailbox the way Outlook would (each change shows up in delta)."""

    def __init__(self, env: GraphEnv) -> None:
        self.env = env

    def source(self, *, batch_size: int = 500) -> Source:
        return self.env.source(page_size=min(batch_size, 1000))

    def stream(self, source: Source) -> Stream:
        return next(s for s in source.streams() if s.name == "inbox")

    def deliver(self, items: Iterable[TestMessage]) -> None:
        for m in items:
            self.env.fake.mailbox.add(
                "inbox",
                message_id=m.message_id,
                subject=m.subject,
                from_=(m.from_, ""),
                to=[(a, "") for a in m.to],
                date=m.date,
                headers=list(m.extra_headers),
            )

    def delete(self, message_id: str) -> None:
        box = self.env.fake.mailbox
        box.delete(box.find(message_id))

    def expire(self, cursor: JSON) -> None:
        self.env.fake.mailbox.expire_tokens()


class TestGraphContract(ConnectorContract):
    @pytest.fixture
    def harness(self, graph_env: GraphEnv) -> GraphHarness:
        return GraphHarness(graph_env)
