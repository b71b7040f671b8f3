"""The IMAP source against a real Dovecot: the shared connector contract, three ways.

``condstore``: QRESYNC/CONDSTORE in use; ``fallback``: the same server with ``use_condstore =
false``; ``basic``: a server that does not announce CONDSTORE/QRESYNC at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.contract import ConnectorContract
from tests.connectors.imap.harness import ImapHarness

pytestmark = pytest.mark.integration


class TestImapContract(ConnectorContract):
    @pytest.fixture(params=["condstore", "fallback", "basic"])
    def harness(self, request: pytest.FixtureRequest, tmp_path: Path) -> ImapHarness:
        server = request.getfixturevalue("dovecot_basic" if request.param == "basic" else "dovecot")
        return ImapHarness(server, tmp_path, use_condstore=request.param == "condstore")
