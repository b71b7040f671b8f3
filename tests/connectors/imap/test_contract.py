"""The IMAP source against a real Dovecot: the shared connector contract on every server profile.

Profiles: ``qresync`` (QRESYNC and CONDSTORE, as Dovecot offers them), ``condstore`` (CONDSTORE
without QRESYNC, as Gmail's IMAP offers it), ``basic`` (neither), and ``fallback`` (the first
server with ``use_condstore = false``). Beyond the contract, every profile must see a flag set
by another client after the first sync (a message answered elsewhere stops being "unanswered").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.contract import ConnectorContract, Replica, messages
from tests.connectors.imap.harness import ImapHarness
from tests.fixtures.dovecot import PROFILES

pytestmark = pytest.mark.integration


class TestImapContract(ConnectorContract):
    @pytest.fixture(params=[*PROFILES, "fallback"])
    def harness(self, request: pytest.FixtureRequest, tmp_path: Path) -> ImapHarness:
        server = request.getfixturevalue(PROFILES.get(request.param, "dovecot"))
        return ImapHarness(server, tmp_path, use_condstore=request.param != "fallback")

    def test_flag_set_by_another_client_is_seen(self, harness: ImapHarness) -> None:
        items = messages(3, "f")
        harness.deliver(items)
        source = harness.source()
        stream = harness.stream(source)
        rep = Replica().sync(source, stream)
        harness.flag(items[1].message_id, b"\\Answered")
        harness.flag(items[2].message_id, b"\\Flagged")
        rep.sync(source, stream)
        by_id = {r.message_id: key for key, r in rep.items.items()}  # type: ignore[union-attr]
        assert "\\Answered" in rep.flags[by_id[items[1].message_id]], "a message answered elsewhere was missed"
        assert "\\Flagged" in rep.flags[by_id[items[2].message_id]]
        source.close()
        # a new process (the daemon restarted) sees later changes too
        harness.flag(items[0].message_id, b"\\Answered")
        source = harness.source()
        rep.sync(source, stream)
        assert "\\Answered" in rep.flags[by_id[items[0].message_id]]
        source.close()
