"""The report's signed web links (issue 27, point 3): no login needed, a GET only asks, the POST
acts once; forged, expired and used links do nothing; a token used by mail is used here too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kith.analysis.commands import KEY_FILE, Action, Command, sign
from kith.config.secrets import state_key
from kith.store.commands import flag_identities
from kith.store.engine import Store
from tests.daemon.test_commands_connectors import token_for
from tests.web.conftest import Server


def _open_flag(server: Server, kind: str) -> int:
    import json

    flags = json.loads(server.demo.kith("flags", "--kind", kind, "--json").stdout)
    return int(flags[0]["id"])


def _state(server: Server, flag_id: int) -> str:
    import json

    return str(json.loads(server.demo.kith("flags", "history", str(flag_id), "--json").stdout)["state"])


def _sign(server: Server, flag_id: int, action: Action, expires: datetime) -> str:
    return token_for(server.demo.store, server.demo.config.state_dir, flag_id, action, expires)


def test_a_signed_link_asks_on_get_and_acts_once_on_post(web_server: Server) -> None:
    flag_id = _open_flag(web_server, "reconnect")
    token = _sign(web_server, flag_id, Action.SNOOZE_MONTH, datetime.now(UTC) + timedelta(days=14))
    path = f"/act/{flag_id}/snooze-30d/{token}"
    with httpx.Client(base_url=web_server.base, timeout=30) as anonymous:
        page = anonymous.get(path)
        assert page.status_code == 200 and "Snooze 1 month" in page.text
        assert _state(web_server, flag_id) == "open", "a GET (a link preview) never acts"
        done = anonymous.post(path, data={"confirm": "yes"})
        assert done.status_code == 200, done.text
        assert _state(web_server, flag_id) == "snoozed"
        assert anonymous.post(path, data={"confirm": "yes"}).status_code == 403
        assert "used already" in anonymous.get(path).text


def test_forged_expired_and_mismatched_links_do_nothing(web_server: Server) -> None:
    flag_id = _open_flag(web_server, "unanswered")
    stale = _sign(web_server, flag_id, Action.DONE, datetime.now(UTC) - timedelta(seconds=1))
    with web_server.demo.store.engine.connect() as conn:
        identity = flag_identities(conn, [flag_id])[flag_id]
    key = state_key(web_server.demo.config.state_dir, KEY_FILE)
    other = sign(key, flag_id + 1, Action.DONE, datetime.now(UTC) + timedelta(days=1), identity)
    week = _sign(web_server, flag_id, Action.SNOOZE_WEEK, datetime.now(UTC) + timedelta(days=1))
    with httpx.Client(base_url=web_server.base, timeout=30) as anonymous:
        for path in (
            f"/act/{flag_id}/done/{stale}",  # expired
            f"/act/{flag_id}/done/{other}",  # another flag's token
            f"/act/{flag_id}/done/{week}",  # another action's token
            f"/act/{flag_id}/done/{'A' * 22}",  # made up
            f"/act/{flag_id}/delete/{week}",  # no such action
        ):
            assert anonymous.post(path, data={}).status_code in (403, 404), path
            assert anonymous.get(path).status_code in (403, 404), path
    assert _state(web_server, flag_id) == "open"
    status = web_server.demo.kith("status", "--json").stdout
    assert '"forged"' in status and '"expired"' in status


def test_the_public_url_host_is_accepted() -> None:
    from kith.config.load import Config
    from kith.config.models import GlobalConfig, WebConfig
    from kith.web.app import allowed_hosts

    config = Config(settings=GlobalConfig(web=WebConfig(public_url="https://Kith.Example.com:8443/k/")))
    assert config.settings.web.public_url == "https://Kith.Example.com:8443/k"
    assert "kith.example.com" in allowed_hosts(config, None)


def test_a_flag_number_past_the_databases_integer_is_refused_not_a_crash(web_server: Server) -> None:
    with httpx.Client(base_url=web_server.base, timeout=30) as anonymous:
        for flag in (2**31, 10**20):
            path = f"/act/{flag}/done/{'A' * 22}"
            assert anonymous.post(path, data={}).status_code == 403, path
            assert anonymous.get(path).status_code == 403, path


def test_a_link_used_meanwhile_by_another_request_is_used_already_not_a_crash(pg_url: str, tmp_path: Path) -> None:
    """A double tap on the button, or the same command arriving by mail at once: both find the
    token unused, and the second one's insert meets the first one's. The page says "used
    already"; it was a 500 from the unique key."""
    import threading
    import time

    from sqlalchemy import insert, text
    from starlette.testclient import TestClient

    from kith.analysis import api
    from kith.config.load import Config
    from kith.config.models import GlobalConfig
    from kith.store.commands import mark_used
    from kith.store.derived import FlagRow
    from kith.store.engine import open_store
    from kith.web.app import create_app

    store = open_store(pg_url)
    try:
        now = datetime.now(UTC)
        with store.engine.begin() as conn:
            values = {"kind": "unanswered", "key": "unanswered:<q@x>", "contact_address": "ann@example.org"}
            row = {**values, "message_id": "<q@x>", "state": "open", "since": now, "opened_at": now}
            flag_id = int(conn.execute(insert(FlagRow.__table__).values(**row)).inserted_primary_key[0])  # type: ignore[index]
        config = Config(settings=GlobalConfig(state_dir=tmp_path / "state"))
        token = sign(
            state_key(config.state_dir, KEY_FILE), flag_id, Action.DONE, now + timedelta(days=1), values["key"]
        )
        client = TestClient(
            create_app(config, store, analyze=lambda: None, hosts=["testserver"]), raise_server_exceptions=False
        )
        got: list[int] = []
        second = threading.Thread(target=lambda: got.append(client.post(f"/act/{flag_id}/done/{token}").status_code))
        with store.engine.connect() as first:
            trans = first.begin()
            mark_used(first, Command(flag_id, Action.DONE, token).digest, flag_id, "done", "<mail@example.com>", now)
            second.start()
            with store.engine.connect() as watch:
                for _ in range(300):
                    if (
                        not second.is_alive()
                        or watch.execute(
                            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                        ).scalar()
                    ):
                        break
                    time.sleep(0.05)
            trans.commit()
        second.join(30)
        assert got == [403]
        with store.engine.connect() as conn:
            assert api.history(conn, flag_id)["state"] == "open"
    finally:
        store.dispose()


def test_a_link_for_a_flag_closed_since_shows_so_and_changes_nothing(web_server: Server) -> None:
    """Security review of issue 27: an old *Snooze* link snoozed a dismissed flag back to life."""
    flag_id = _open_flag(web_server, "reconnect")
    token = _sign(web_server, flag_id, Action.SNOOZE_WEEK, datetime.now(UTC) + timedelta(days=14))
    web_server.demo.kith("flags", "dismiss", str(flag_id))
    path = f"/act/{flag_id}/snooze-7d/{token}"
    with httpx.Client(base_url=web_server.base, timeout=30) as anonymous:
        assert "closed already" in anonymous.get(path).text
        done = anonymous.post(path, data={"confirm": "yes"})
        assert done.status_code == 403 and "closed already" in done.text
    assert _state(web_server, flag_id) == "dismissed"
    assert '"flag closed"' not in web_server.demo.kith("status", "--json").stdout, "the owner's own, no warning"


def test_a_flood_of_forged_links_keeps_the_command_log_bounded(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Security review of issue 27: anyone reaching ``[web] public_url`` wrote one ``action_log``
    row per forged POST, without limit. Old rows go, and at most ``LOG_ROWS`` stay."""
    from sqlalchemy import func, select
    from starlette.testclient import TestClient

    from kith.config.load import Config
    from kith.config.models import GlobalConfig
    from kith.store import commands
    from kith.store.tables import ACTION_LOG
    from kith.web.app import create_app
    from tests.daemon.test_commands_connectors import seed_flag

    monkeypatch.setattr(commands, "LOG_ROWS", 25)
    flag_id = seed_flag(sqlite_store, "<q@example.org>")
    with sqlite_store.engine.begin() as conn:  # a row from long ago
        commands.log_command(conn, at=datetime.now(UTC) - timedelta(days=200), via="web", outcome="forged")
    config = Config(settings=GlobalConfig(state_dir=tmp_path / "state"))
    client = TestClient(create_app(config, sqlite_store, analyze=lambda: None, hosts=["testserver"]))
    for n in range(60):
        assert client.post(f"/act/{flag_id}/done/{n:022d}").status_code == 403
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ACTION_LOG)).scalar() == 25
        assert conn.execute(select(func.min(ACTION_LOG.c.at))).scalar() > datetime.now(UTC) - timedelta(days=1)


def test_a_database_locked_past_its_busy_timeout_says_try_again_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Security review of issue 27: on SQLite, a POST while another writer (a double tap's
    other request, a sync's long batch) holds the write lock past the busy timeout was a 500
    ("database is locked"). It says "try again" now, and the link still works after."""
    import sqlite3

    from starlette.testclient import TestClient

    from kith.analysis import api
    from kith.config.load import Config
    from kith.config.models import GlobalConfig
    from kith.store import engine
    from kith.web.app import create_app
    from tests.daemon.test_commands_connectors import seed_flag

    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store = engine.open_store(engine.sqlite_url(tmp_path / "kith.db"))
    try:
        flag_id = seed_flag(store, "<q@example.org>")
        config = Config(settings=GlobalConfig(state_dir=tmp_path / "state"))
        token = token_for(store, config.state_dir, flag_id, Action.DONE, datetime.now(UTC) + timedelta(days=1))
        client = TestClient(
            create_app(config, store, analyze=lambda: None, hosts=["testserver"]), raise_server_exceptions=False
        )
        other = sqlite3.connect(tmp_path / "kith.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            busy = client.post(f"/act/{flag_id}/done/{token}")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert busy.status_code == 503 and "Try again" in busy.text and busy.headers["Retry-After"] == "5"
        assert client.post(f"/act/{flag_id}/done/{token}").status_code == 200
        with store.engine.connect() as conn:
            assert api.history(conn, flag_id)["state"] == "dismissed"
    finally:
        store.dispose()


def test_an_unknown_flag_reads_like_a_forged_link(web_server: Server) -> None:
    """A stranger probing flag numbers must not learn which exist: an unknown flag and a bad
    signature on a real one get the same answer (it once said "That item is gone")."""
    flag_id = _open_flag(web_server, "unanswered")
    with httpx.Client(base_url=web_server.base, timeout=30) as anonymous:
        real = anonymous.get(f"/act/{flag_id}/done/{'A' * 22}")
        unknown = anonymous.get(f"/act/{flag_id + 100000}/done/{'A' * 22}")
    assert real.status_code == unknown.status_code == 403
    assert "This link is not valid." in real.text and "This link is not valid." in unknown.text
    assert "gone" not in unknown.text
