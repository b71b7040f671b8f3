"""The CalDAV source against servers whose sync-collection misbehaves: the real Radicale behind
``tests.fakes.davproxy`` answering as SabreDAV (Nextcloud, Baikal) and others do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kith.connectors.caldav import CaldavSource
from tests.connectors.contract import Replica
from tests.connectors.test_caldav import NOW, mailbox, source, uids, vevent
from tests.fakes.davproxy import DavProxy
from tests.fixtures.radicale import RadicaleCalendar, RadicaleServer

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(radicale: RadicaleServer) -> Iterator[DavProxy]:
    with DavProxy(radicale.url) as p:
        yield p


def proxied_source(proxy: DavProxy, radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path) -> CaldavSource:
    return source(mailbox(radicale, tmp_path, cal, url=proxy.url))


def test_a_server_refusing_its_own_sync_tokens_is_used_by_etags_not_resynced_forever(
    proxy: DavProxy, radicale: RadicaleServer, tmp_path: Path
) -> None:
    cal = radicale.new_calendar("Sabre")
    cal.put(vevent("a@test", NOW))
    proxy.refuse = "valid-sync-token"
    src = proxied_source(proxy, radicale, cal, tmp_path)
    (stream,) = src.streams()
    rep = Replica().sync(src, stream)
    assert rep.cursor is not None and "token" in rep.cursor  # the first listing had no token to refuse
    for n in range(3):
        cal.put(vevent(f"new{n}@test", NOW + timedelta(hours=n + 1)))
        rep.sync(src, stream)
    assert uids(rep) == ["a@test", "new0@test", "new1@test", "new2@test"]
    assert proxy.refused == 1, "every poll was a refused token and a full resync"
    assert "etags" in (rep.cursor or {})
    cal.delete("a@test.ics")
    rep.sync(src, stream)
    assert uids(rep) == ["new0@test", "new1@test", "new2@test"]
    src.close()


@pytest.mark.parametrize("answer", ["507", "403"])
def test_sync_collection_refused_outright_falls_back_to_ctag_and_etags(
    proxy: DavProxy, radicale: RadicaleServer, tmp_path: Path, answer: str
) -> None:
    """A bare 507 was retried forever (TransientError); a bare 403 was reported as a wrong password."""
    cal = radicale.new_calendar(f"Refuses {answer}")
    cal.put(vevent("a@test", NOW))
    proxy.refuse = answer
    src = proxied_source(proxy, radicale, cal, tmp_path)
    (stream,) = src.streams()
    rep = Replica().sync(src, stream)
    assert uids(rep) == ["a@test"] and "etags" in (rep.cursor or {})
    cal.put(vevent("b@test", NOW + timedelta(hours=1)))
    rep.sync(src, stream)
    assert uids(rep) == ["a@test", "b@test"] and proxy.refused == 1
    src.close()


def test_sync_collection_refused_mid_life_resyncs_once_by_etags(
    proxy: DavProxy, radicale: RadicaleServer, tmp_path: Path
) -> None:
    cal = radicale.new_calendar("Later")
    cal.put(vevent("a@test", NOW))
    src = proxied_source(proxy, radicale, cal, tmp_path)
    (stream,) = src.streams()
    rep = Replica().sync(src, stream)
    assert "token" in (rep.cursor or {})
    proxy.refuse = "507"  # e.g. the calendar grew past what the server will list in one answer
    cal.put(vevent("b@test", NOW + timedelta(hours=1)))
    rep.sync(src, stream)
    assert uids(rep) == ["a@test", "b@test"] and rep.upserted == 1, "unchanged events were rewritten"
    assert "etags" in (rep.cursor or {}) and proxy.refused == 1
    src.close()
