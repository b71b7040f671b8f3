"""A local fake of the Gmail API, Google Calendar API and Google's OAuth endpoints, for tests and bench."""

from __future__ import annotations

from tests.fakes.gmail.calendar import FakeCalendar
from tests.fakes.gmail.mailbox import ApiError, FakeMailbox, FakeMessage
from tests.fakes.gmail.server import UNITS, FakeGoogle, Rule

__all__ = ["UNITS", "ApiError", "FakeCalendar", "FakeGoogle", "FakeMailbox", "FakeMessage", "Rule"]
