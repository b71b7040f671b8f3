"""`kith flags --json` carries each flag's best link into the mail program (issue 27): the
message for a message-level flag, a new message (and the last one exchanged) for a person."""

from __future__ import annotations

from urllib.parse import unquote

from kith.cli.demo_pipeline import DemoResult
from tests.cli.test_tables import as_json


def test_every_flag_has_an_open_url(demo: DemoResult) -> None:
    flags = as_json(demo, "flags")
    kinds = {f["kind"] for f in flags}
    assert {"unanswered", "reconnect"} <= kinds
    for f in flags:
        url = f["open_url"]
        if f["kind"] == "unanswered":
            # the sample's mailboxes are Maildirs: RFC 2392 mid: of the waiting message
            assert url == "mid:" + f["message_id"].strip("<>").replace("%", "%25"), f
        else:
            assert unquote(url) == "mailto:" + f["contact"]["address"], f
            assert f["thread_url"] is None or f["thread_url"].startswith("mid:"), f
    people = [f for f in flags if f["kind"] != "unanswered"]
    assert any(f["thread_url"] for f in people), "a person's last message links too"
