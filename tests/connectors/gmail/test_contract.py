"""The Gmail source against the fake Gmail API: the shared connector contract."""

from __future__ import annotations

from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32

import pytest

from kith.connectors.base import JSON, Source, Stream
from tests.connectors.contract import ConnectorContract, TestMessage
from tests.fixtures.gmail import GmailEnv


def gmail_headers(message: TestMessage) -> list[tuple[str, str]]:
    parsed = BytesHeaderParser(policy=compat32).parsebytes(message.as_bytes())
    return [(name, str(value)) for name, value in parsed.items()]


class GmailHarness:
    """Changes the fake mailbox the way Gmail itself would record them (with history)."""

    def __init__(self, env: GmailEnv) -> None:
        self.env = env

    def source(self, *, batch_size: int = 500) -> Source:
        return self.env.source(batch_size=batch_size)

    def stream(self, source: Source) -> Stream:
        return source.streams()[0]

    def deliver(self, items: Iterable[TestMessage]) -> None:
        for m in items:
            self.env.fake.mailbox.add_message(gmail_headers(m), labels=("INBOX", "UNREAD"), internal_date=m.date)

    def delete(self, message_id: str) -> None:
        box = self.env.fake.mailbox
        box.delete_message(box.find("Message-ID", message_id))

    def expire(self, cursor: JSON) -> None:
        self.env.fake.mailbox.expire_history()


class TestGmailContract(ConnectorContract):
    @pytest.fixture
    def harness(self, gmail_env: GmailEnv) -> GmailHarness:
        return GmailHarness(gmail_env)
