"""A contact's interactions grouped into conversations, for `kith timeline` to show.

A conversation is a run of personal interactions with one person with no gap over two days
(DESIGN.md, "Conversation and cadence"): a thread of four replies in an afternoon is one
conversation, not four. Broadcasts and automated mail are not conversations and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

#: Interactions closer than this belong to one conversation.
GAP = timedelta(days=2)
DIRECTION = {"email_in": "in", "email_out": "out", "meeting": "meeting"}


def conversations(interactions: Iterable[Mapping[str, Any]], *, gap: timedelta = GAP) -> list[dict[str, Any]]:
    """Newest first: ``{"start", "end", "direction" (in, out, both, meeting), "messages",
    "meetings", "subject"}`` from interactions ``{"at", "kind", "personal", "subject"}``.

    ``direction`` says who spoke: only they ("in"), only I ("out"), both, or a meeting alone.
    ``subject`` is the first one given, which names what the conversation was about.
    """
    points = sorted(
        (
            (datetime.fromisoformat(i["at"]) if isinstance(i["at"], str) else i["at"], i)
            for i in interactions
            if i["personal"]
        ),
        key=lambda p: p[0],
    )
    runs: list[list[tuple[datetime, Mapping[str, Any]]]] = []
    for point in points:
        if runs and point[0] - runs[-1][-1][0] <= gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    out = []
    for run in reversed(runs):
        sides = {DIRECTION.get(i["kind"], i["kind"]) for _, i in run}
        talk = sides - {"meeting"}
        direction = "both" if talk == {"in", "out"} else (talk.pop() if talk else "meeting")
        out.append(
            {
                "start": run[0][0],
                "end": run[-1][0],
                "direction": direction,
                "messages": sum(i["kind"] != "meeting" for _, i in run),
                "meetings": sum(i["kind"] == "meeting" for _, i in run),
                "subject": next((i["subject"] for _, i in run if i.get("subject")), None),
            }
        )
    return out


__all__ = ["GAP", "conversations"]
