"""Checks of single values that several settings share: URLs, database URLs, hosts, zones, addresses.

Each raises ``ValueError`` with what a good value looks like; pydantic turns that into a problem
naming the file and key, reported with all the others (kith.config.load).
"""

from __future__ import annotations

from email.utils import parseaddr
from ipaddress import ip_address
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

#: The database backends and drivers kith ships with (psycopg 3 is a dependency; sqlite3 is stdlib).
DATABASE_DRIVERS = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}


def check_http_url(value: str) -> str:
    """An http(s) URL with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL; write e.g. https://dav.example.com/calendars/you/")
    return value.strip()


def check_database_url(value: str) -> str:
    """A URL kith can open (never a ModuleNotFoundError traceback at the next command)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(value)
    except ArgumentError:
        raise ValueError(
            "not a database URL; write postgresql+psycopg://user@host/database, or set `path` for SQLite"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in DATABASE_DRIVERS:
        raise ValueError(
            f"{backend!r} databases are not supported; use postgresql+psycopg://user@host/database "
            "or sqlite:////path/kith.db (or leave url out and set `path`)"
        )
    if driver and driver not in DATABASE_DRIVERS[backend]:
        raise ValueError(
            f"the {driver!r} driver does not come with kith; write {backend}+{DATABASE_DRIVERS[backend][0]}://…"
        )
    return value


def check_timezone(value: str) -> str:
    """An IANA zone name zoneinfo knows."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone {value!r}; use an IANA name such as "Europe/Berlin" or "UTC"') from None
    return value


def check_address(value: str) -> str:
    """``a@b`` or ``Name <a@b>``."""
    _name, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ValueError(f"{value!r} is not an email address; write you@example.com or Name <you@example.com>")
    return value


def is_loopback(host: str) -> bool:
    """localhost or a loopback IP: the only hosts where plaintext is tolerated."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


HttpUrl = Annotated[str, AfterValidator(check_http_url)]
DatabaseUrl = Annotated[str, AfterValidator(check_database_url)]
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
EmailAddress = Annotated[str, AfterValidator(check_address)]

__all__ = [
    "DATABASE_DRIVERS",
    "DatabaseUrl",
    "EmailAddress",
    "HttpUrl",
    "TimeZoneName",
    "check_address",
    "check_database_url",
    "check_http_url",
    "check_timezone",
    "is_loopback",
]
