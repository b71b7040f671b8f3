"""What the rest of kith calls: build, render, write to files, send once, send when due.

``deliver_due`` is what the daemon calls on every loop: once the configured local send time has
passed and today's report is not sent, it sends it (so a daemon that was down at 07:00 catches
up when it starts, once, never twice); a failed send is retried with backoff. The exactly-once
bookkeeping is in ``kith.store.reports``.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kith.config.load import Config
from kith.config.secrets import write_private
from kith.errors import ConfigError, KithError
from kith.report.data import Built, build, recipient_of
from kith.report.deliver import deliver
from kith.report.formatting import zone
from kith.report.message import build_message, new_message_id, parse_address
from kith.report.render import Rendered
from kith.report.render import render_report as _render
from kith.store import reports
from kith.store.engine import Store

log = logging.getLogger(__name__)


def build_report(session: Session, config: Config, *, day: date, now: datetime) -> dict[str, Any]:
    """The report for ``day`` as JSON-able data (what `kith report --json` prints)."""
    return build(session, config, day=day, now=now).data


def render_report(data: dict[str, Any], *, timezone: str) -> Rendered:
    """Subject, text and HTML (with its charts), times shown in ``timezone``."""
    return _render(data, timezone=timezone)


def local_day(config: Config, now: datetime) -> date:
    """The report date: today in the configured time zone."""
    return now.astimezone(zone(config.settings.report.timezone)).date()


def moment_for(config: Config, day: date, now: datetime) -> datetime:
    """The "now" a report for ``day`` is built at: now for today, else that day's send time."""
    if day == local_day(config, now):
        return now
    report = config.settings.report
    return datetime.combine(day, report.send_at, zone(report.timezone)).astimezone(UTC)


def write_report(store: Store, config: Config, *, now: datetime, directory: Path) -> tuple[Path, Path]:
    """Write today's report as HTML and text files; returns both paths."""
    day = local_day(config, now)
    with store.session() as session:
        data = build_report(session, config, day=day, now=now)
    rendered = render_report(data, timezone=config.settings.report.timezone)
    return write_files(rendered, day=day, directory=directory)


def write_files(rendered: Rendered, *, day: date, directory: Path, stem: str | None = None) -> tuple[Path, Path]:
    """The HTML and text versions as files (charts are part of the HTML), 0600 in a folder made
    0700 (who writes to whom is for the owner alone); returns both paths."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = stem or f"kith-report-{day.isoformat()}"
    html_path = write_html(rendered, directory / f"{stem}.html")
    text_path = directory / f"{stem}.txt"
    write_private(text_path, rendered.text)
    return html_path, text_path


def keep_copy(config: Config, rendered: Rendered, *, day: date) -> tuple[Path, Path] | None:
    """``[report] output_dir``: keep a copy of a report there, as ``kith-report-DATE.html`` and
    ``.txt`` (a later report for the same day replaces them). Made for each nightly report sent and
    each report ``kith report`` shows; None when no folder is configured."""
    directory = config.settings.report.output_dir
    if directory is None:
        return None
    try:
        return write_files(rendered, day=day, directory=directory)
    except OSError as exc:
        raise ConfigError(
            f"kith.toml: [report] output_dir: cannot keep a copy of the report in {directory}: {exc.strerror or exc}",
            hint="make the folder writable by kith, or remove output_dir",
        ) from exc


def write_html(rendered: Rendered, path: Path) -> Path:
    """The HTML version at ``path``: one self-contained file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, rendered.html)
    return path


def _send(store: Store, config: Config, *, day: date, now: datetime, force: bool, respect_backoff: bool) -> str | None:
    """Build, then claim-render-deliver-mark. Returns the Message-ID sent, or None when not ours to send."""
    _check_deliverable(config)
    with store.session() as session:
        built = build(session, config, day=day, now=now)
    return send_built(store, config, built, day=day, now=now, force=force, respect_backoff=respect_backoff)


def _check_deliverable(config: Config) -> None:
    if config.settings.report.deliver == "none":
        raise ConfigError(
            'kith.toml: [report] deliver: "none" means the report is only written, never sent',
            hint='set deliver = "smtp" (with [report.smtp]) or "imap" (with mailbox = NAME)',
        )


def send_built(
    store: Store,
    config: Config,
    built: Built,
    *,
    day: date,
    now: datetime,
    force: bool = False,
    respect_backoff: bool = False,
) -> str | None:
    """Claim the (date, recipient) row, render, deliver, mark sent or failed (see kith.store.reports)."""
    _check_deliverable(config)
    settings = config.settings.report
    recipient = recipient_of(config)
    to_addr = parse_address(recipient, key="to", name=config.settings.me.name)
    sender = parse_address(settings.from_ or recipient, key="from", name="kith")
    with store.session() as session:
        claim = reports.claim(
            session,
            day=day,
            recipient=recipient,
            now=now,
            message_id=new_message_id(day, sender),
            payload=built.payload,
            force=force,
            respect_backoff=respect_backoff,
        )
    if claim is None:
        log.info("report for %s to %s: already sent or being sent; nothing to do", day, recipient)
        return None
    try:
        rendered = render_report(built.data, timezone=settings.timezone)
        message = build_message(
            rendered,
            day=day,
            sender=sender,
            recipient=to_addr,
            message_id=claim.message_id,
            now=now,
            timezone=settings.timezone,
        )
        where = deliver(config, message, recipient=to_addr.addr_spec, envelope_from=sender.addr_spec)
    except Exception as exc:
        with store.session() as session:
            retry_at = reports.mark_failed(
                session, claim, now=now, error=f"{type(exc).__name__}: {exc}", cap=config.settings.daemon.max_backoff
            )
        log.warning(
            "report for %s to %s failed (attempt %d, next try %s): %s", day, recipient, claim.attempts, retry_at, exc
        )
        raise
    with store.session() as session:
        if not reports.mark_sent(session, claim, now=now):
            log.warning(
                "report %s was delivered after its lease ran out; another worker may send it too", claim.message_id
            )
    log.info("report for %s sent to %s via %s (%s)", day, recipient, where, claim.message_id)
    try:
        keep_copy(config, rendered, day=day)
    except ConfigError as exc:  # the report went out: a full disk must not make it go out again
        log.warning("report for %s sent, but no copy kept in [report] output_dir: %s", day, exc)
    return claim.message_id


class ReportNotSent(KithError):
    """A send was asked for but did not happen: another process is sending that report."""


def send_report(store: Store, config: Config, *, day: date, now: datetime, force: bool = False) -> str:
    """Send the report for ``day`` unless it was sent already; ``force`` sends another on purpose.

    Returns the Message-ID of the report for that day (the one just sent, or, without ``force``,
    the earlier one). Raises ``ReportNotSent`` when another process holds the send: never a
    Message-ID that was not sent.
    """
    sent = _send(store, config, day=day, now=now, force=force, respect_backoff=False)
    if sent is not None:
        return sent
    with store.session() as session:
        row = reports.row_for(session, day=day, recipient=recipient_of(config))
    if row and row["status"] == "sent" and not force:
        return str(row.get("message_id") or "")
    # nothing went out now: another process holds the send (or won the race for it)
    status = row["status"] if row else "unknown"
    until = row.get("next_attempt_at") if row else None
    raise ReportNotSent(
        f"the report for {day} was not sent now: another process is sending it (status {status}"
        + (f", its lease runs until {until:%Y-%m-%d %H:%M} UTC)" if until else ")"),
        hint="`kith status` and the log of `kith run` say how it went; a send that died is taken over when its lease ends",
    )


def is_due(config: Config, *, now: datetime, row: dict[str, Any] | None) -> bool:
    """Whether today's report should go out now, given its ``reports`` row (None: no row yet).

    Due once the local send time has passed today, unless it is sent, or being sent under a
    live lease, or failed and waiting for its backoff to end.
    """
    report = config.settings.report
    if report.deliver == "none":
        return False
    if now.astimezone(zone(report.timezone)).time() < report.send_at:
        return False
    if row is None:
        return True
    waiting_until = row.get("next_attempt_at")
    if row["status"] == "sent":
        return False
    return not (row["status"] in ("sending", "failed") and waiting_until is not None and waiting_until > now)


def deliver_due(store: Store, config: Config, *, now: datetime) -> str | None:
    """Send today's report if its time has come and it is not sent; the daemon calls this every loop.

    Returns the Message-ID when a report went out now, else None. A failed delivery is recorded
    (``kith status`` shows it) and retried after its backoff; the error is logged, not raised,
    so one bad SMTP server does not stop the sync loop. After downtime only today's report is
    sent: the days missed are not caught up one by one (today's report covers them).
    """
    if config.settings.report.deliver == "none":
        return None
    day = local_day(config, now)
    recipient = recipient_of(config)
    with store.session() as session:
        row = reports.row_for(session, day=day, recipient=recipient)
    if not is_due(config, now=now, row=row):
        return None
    try:
        return _send(store, config, day=day, now=now, force=False, respect_backoff=True)
    except KithError as exc:
        log.warning("nightly report not delivered: %s%s", exc, f" ({exc.hint})" if exc.hint else "")
        return None


__all__ = [
    "ReportNotSent",
    "build_report",
    "deliver_due",
    "is_due",
    "keep_copy",
    "local_day",
    "moment_for",
    "render_report",
    "send_built",
    "send_report",
    "write_files",
    "write_html",
    "write_report",
]
