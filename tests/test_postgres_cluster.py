"""The throwaway PostgreSQL cluster the test session falls back on starts, serves kith and goes away.

Run every session, even where a server answers at ``KITH_TEST_PG_URL`` (as on the CI machine),
so the fallback a fresh machine depends on cannot rot unnoticed.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from kith.store.engine import open_store
from kith.store.migrate import current_revision, head_revision
from tests.fixtures.postgres import Cluster

pytestmark = pytest.mark.integration


def test_throwaway_cluster_starts_takes_the_schema_and_is_removed() -> None:
    cluster = Cluster()
    if why := cluster.impossible():
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    with cluster:
        assert cluster.dir is not None
        where = cluster.dir
        store = open_store(cluster.url)
        try:
            assert current_revision(store.engine) == head_revision()
            with store.engine.connect() as conn:
                assert conn.execute(text("select current_user")).scalar() == "postgres"
                assert conn.execute(text("show fsync")).scalar() == "off"
        finally:
            store.dispose()
    assert not where.exists()
