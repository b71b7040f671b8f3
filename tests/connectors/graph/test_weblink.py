"""Graph's ``webLink`` (message resource, v1.0: "the URL to open the message in Outlook on the
web") is selected with the headers and kept only as a plain https URL: it becomes a report link."""

from __future__ import annotations

import pytest

from kith.connectors.graph.records import MESSAGE_FIELDS, message_record

LINK = "https://outlook.office365.com/owa/?ItemID=AAMkAD%2Bx&exvsurl=1&viewmodel=ReadMessageItem"


def test_weblink_is_selected_and_kept() -> None:
    assert "webLink" in MESSAGE_FIELDS
    assert message_record({"id": "AAMkAD+x", "webLink": LINK}).web_link == LINK


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "http://outlook.office365.com/owa/",
        "https://x/ y",
        "https://x/\n",
        42,
        None,
        "https://" + "a" * 2000,
    ],
)
def test_anything_else_is_dropped(value: object) -> None:
    assert message_record({"id": "AAMkAD+x", "webLink": value}).web_link is None
