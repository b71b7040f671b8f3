"""Where a Graph delta pull starts (DESIGN: the cursor is the deltaLink; a paging cursor keeps the
nextLink and the listing generation). A cursor of another shape means "resync from scratch"."""

from __future__ import annotations

from typing import Any

import pytest

from kith.connectors.graph.delta import start_url
from kith.errors import CursorExpired


def first() -> str:
    return "https://graph.example/delta?start"


def test_no_cursor_starts_a_new_listing_with_a_new_generation() -> None:
    url, gen = start_url(None, first)
    assert url == "https://graph.example/delta?start"
    assert isinstance(gen, str) and len(gen) == 12
    assert start_url(None, first)[1] != gen  # each listing its own generation


def test_a_paging_cursor_resumes_at_its_next_link_in_its_generation() -> None:
    assert start_url({"next": "https://n/2", "gen": "abc"}, first) == ("https://n/2", "abc")
    assert start_url({"next": "https://n/2"}, first) == ("https://n/2", None)
    assert start_url({"next": "https://n/2", "gen": 5}, first) == ("https://n/2", None)
    # paging wins over an older delta link in the same cursor
    assert start_url({"next": "https://n/2", "delta": "https://d", "gen": "g"}, first) == ("https://n/2", "g")


def test_a_delta_cursor_is_an_incremental_pull() -> None:
    assert start_url({"delta": "https://d/1"}, first) == ("https://d/1", None)


@pytest.mark.parametrize("cursor", [{}, {"next": 3}, {"delta": None}, {"deltaLink": "https://d"}, {"next": ["x"]}])
def test_any_other_cursor_means_resync(cursor: dict[str, Any]) -> None:
    with pytest.raises(CursorExpired):
        start_url(cursor, first)
