"""The IMAP source against a real Dovecot: the shared connector contract, with and without CONDSTORE."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.contract import ConnectorContract
from tests.connectors.imap.harness import ImapHarness
from tests.fixtures.dovecot import Dovecot

pytestmark = pytest.mark.integration


class TestImapContract(ConnectorContract):
    @pytest.fixture(params=[True, False], ids=["condstore", "fallback"])
    def harness(self, request: pytest.FixtureRequest, dovecot: Dovecot, tmp_path: Path) -> ImapHarness:
        return ImapHarness(dovecot, tmp_path, use_condstore=request.param)
