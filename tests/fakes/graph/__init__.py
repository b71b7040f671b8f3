"""A local fake of Microsoft Graph (mail and calendar delta, ``$batch``) and its login endpoints."""

from __future__ import annotations

from tests.fakes.graph.calendar import FakeCalendar
from tests.fakes.graph.mailbox import FakeMailbox, FakeMessage, GraphError
from tests.fakes.graph.oauth import LOGIN_HOST, LoginClient
from tests.fakes.graph.server import MAX_BATCH, FakeGraph, Rule

__all__ = [
    "LOGIN_HOST",
    "MAX_BATCH",
    "FakeCalendar",
    "FakeGraph",
    "FakeMailbox",
    "FakeMessage",
    "GraphError",
    "LoginClient",
    "Rule",
]
