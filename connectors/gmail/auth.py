"""OAuth for Gmail and Google Calendar: consent once (``kith auth``), then refresh forever.

Two ways in:

- **Installed-app flow** (personal accounts, and Workspace users without an admin): the user
  creates an OAuth client of type "Desktop app", points ``client_secrets_file`` at its JSON and
  runs ``kith auth NAME``. With a browser at hand, google-auth-oauthlib's loopback flow opens the
  consent page and catches the redirect on ``http://localhost:<free port>/``. On a headless
  server kith prints the consent URL instead; the browser elsewhere is redirected to a localhost
  address that does not load, and the user pastes that address back (Google retired the
  copy-the-code "OOB" flow in 2022; this is its documented replacement). PKCE and ``state`` are
  checked either way.
- **Service account with domain-wide delegation** (Workspace admins syncing many mailboxes):
  ``service_account_file`` + ``delegated_user``; nothing is stored, google-auth signs a JWT and
  gets a fresh token when needed.

The authorized-user token (access + refresh token) is written with ``write_private`` (0600,
atomic) to ``token_file`` or ``$STATE/google/NAME.json``, and written again whenever google-auth
refreshed it. A refresh refused with ``invalid_grant`` (revoked, expired, password changed)
becomes an ``AuthError`` whose hint is ``kith auth NAME``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import google.auth.transport.requests
import google.oauth2.credentials
import google.oauth2.service_account

from kith.config.mailboxes import GmailMailbox, GoogleCalendar
from kith.config.secrets import check_secret_file, write_private
from kith.connectors.gmail.client import map_errors
from kith.errors import AuthError, ConfigError, ConfigProblem, TransientError

log = logging.getLogger(__name__)

GOOGLE_SCOPE = "https://www.googleapis.com/auth/"
SCOPE_METADATA = GOOGLE_SCOPE + "gmail.metadata"
SCOPE_CALENDAR = GOOGLE_SCOPE + "calendar.events.readonly"
SCOPE_SEND = GOOGLE_SCOPE + "gmail.send"
#: Why kith asks for each scope (``kith auth`` and ``kith check`` say it). Least privilege:
#: headers and labels only, events only, sending only when the report goes out through Gmail.
WHY: dict[str, str] = {
    SCOPE_METADATA: "read message headers and labels, never bodies or attachments",
    SCOPE_CALENDAR: "read your calendar events (meetings count as contact); no other calendar data",
    SCOPE_SEND: 'send the nightly report from this mailbox ([report] deliver = "gmail")',
}
#: Broader scopes a token may carry instead (granted by an older kith, or by hand).
COVERED_BY: dict[str, frozenset[str]] = {
    SCOPE_METADATA: frozenset(GOOGLE_SCOPE + s for s in ("gmail.readonly", "gmail.modify"))
    | {"https://mail.google.com/"},
    SCOPE_CALENDAR: frozenset(GOOGLE_SCOPE + s for s in ("calendar.readonly", "calendar.events", "calendar")),
    SCOPE_SEND: frozenset(GOOGLE_SCOPE + s for s in ("gmail.compose", "gmail.modify")) | {"https://mail.google.com/"},
}
#: Where the headless flow tells Google to redirect; nothing listens there, the user copies the URL.
PASTE_REDIRECT = "http://localhost:1/"


def scopes_for(mailbox: GmailMailbox, *, send: bool = False) -> list[str]:
    """What the configuration needs and no more: the mailbox's read scopes (gmail.metadata),
    calendar.events.readonly only with a Google calendar, gmail.send only when asked."""
    scopes = list(mailbox.scopes)
    if isinstance(mailbox.calendar, GoogleCalendar) and SCOPE_CALENDAR not in scopes:
        scopes.append(SCOPE_CALENDAR)
    if send and SCOPE_SEND not in scopes:
        scopes.append(SCOPE_SEND)
    return scopes


def missing_scopes(needed: list[str], granted: set[str]) -> list[str]:
    """The needed scopes that neither ``granted`` nor a broader granted scope covers."""
    return [s for s in needed if s not in granted and not COVERED_BY.get(s, frozenset()) & granted]


def explain_scopes(scopes: list[str]) -> str:
    """One line per scope: what it is and why kith asks for it."""
    return "\n".join(f"  {s.removeprefix(GOOGLE_SCOPE)}: {WHY.get(s, 'configured in scopes')}" for s in scopes)


def token_path(mailbox: GmailMailbox, state_dir: Path) -> Path:
    return mailbox.token_file or state_dir / "google" / f"{mailbox.name or 'gmail'}.json"


#: The token file's own record of when the user consented (google-auth ignores unknown keys):
#: a refused refresh about 7 days later is the Testing-status trap, and ``kith check`` says when
#: a Testing client's grant will die.
CONSENT_KEY = "kith_consented_at"


def save_credentials(
    credentials: google.oauth2.credentials.Credentials, path: Path, *, consented: datetime | None = None
) -> None:
    data = json.loads(credentials.to_json())
    if consented is not None:
        data[CONSENT_KEY] = consented.astimezone(UTC).isoformat()
    write_private(path, json.dumps(data))


def consent_time(path: Path | None) -> datetime | None:
    """When the token in ``path`` was granted, if kith wrote it at ``kith auth`` time."""
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get(CONSENT_KEY)
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except (OSError, ValueError, AttributeError):
        return None


class TokenKeeper:
    """Writes the token file again after google-auth refreshed the access token."""

    def __init__(self, credentials: Any, path: Path | None) -> None:
        self.credentials = credentials
        self.path = path
        self.saved = getattr(credentials, "token", None)
        #: When the user granted this token (kept across refreshes).
        self.consented = consent_time(path)

    def persist(self) -> None:
        token = getattr(self.credentials, "token", None)
        if self.path is None or token is None or token == self.saved:
            return
        try:
            save_credentials(self.credentials, self.path, consented=self.consented)
            self.saved = token
        except OSError as exc:  # the old file still holds a valid refresh token
            log.warning("could not save the refreshed Google token to %s: %s", self.path, exc.strerror)


def load_credentials(mailbox: GmailMailbox, state_dir: Path) -> tuple[Any, Path | None]:
    """Credentials for API calls, and the token file to keep up to date (None for service accounts)."""
    scopes = scopes_for(mailbox)
    if mailbox.service_account_file is not None:
        return service_account_credentials(mailbox, scopes), None
    path = token_path(mailbox, state_dir)
    if not path.exists():
        raise AuthError(f"no Google token for mailbox {mailbox.name!r} yet ({path})", mailbox=mailbox.name)
    try:
        check_secret_file(path, file=str(path), key="token_file")
    except ConfigError as exc:
        raise AuthError(str(exc), mailbox=mailbox.name, hint=f"chmod 600 {path}") from exc
    try:
        creds = google.oauth2.credentials.Credentials.from_authorized_user_file(str(path))
    except (ValueError, OSError) as exc:
        raise AuthError(f"the Google token file {path} is unreadable: {exc}", mailbox=mailbox.name) from exc
    if mailbox.token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(mailbox.token_uri)
        creds.expiry = expiry  # the copy drops it, and an unknown expiry would never refresh
    missing = missing_scopes(scopes, set(creds.scopes or scopes))
    if missing:
        raise AuthError(
            f"the Google token for {mailbox.name!r} lacks scope(s) {', '.join(sorted(missing))}", mailbox=mailbox.name
        )
    return creds, path


def service_account_credentials(mailbox: GmailMailbox, scopes: list[str]) -> Any:
    file = mailbox.service_account_file
    assert file is not None
    if not mailbox.delegated_user:
        raise ConfigError(
            [ConfigProblem(mailbox.name, "delegated_user", "a service account needs the user whose mail it reads")]
        )
    try:
        creds = google.oauth2.service_account.Credentials.from_service_account_file(str(file), scopes=scopes)
    except (ValueError, OSError) as exc:
        raise ConfigError([ConfigProblem(mailbox.name, "service_account_file", f"{file}: {exc}")]) from exc
    return creds.with_subject(mailbox.delegated_user)


def authorize(
    mailbox: GmailMailbox,
    *,
    state_dir: Path,
    interactive: bool = True,
    send: bool = False,
    open_browser: bool | None = None,
    prompt: Callable[[str], str] = input,
    say: Callable[[str], None] = print,
) -> str:
    """``kith auth NAME``: obtain (or check) credentials; returns the line to show the user."""
    scopes = scopes_for(mailbox, send=send)
    request = google.auth.transport.requests.Request()
    if mailbox.service_account_file is not None:
        say("The service account's domain-wide delegation must allow:\n" + explain_scopes(scopes))
        creds = service_account_credentials(mailbox, scopes)
        with map_errors(mailbox.name):
            creds.refresh(request)
        return f"service account {creds.service_account_email} may act for {mailbox.delegated_user}: token obtained"
    path = token_path(mailbox, state_dir)
    if not interactive:
        creds, _ = load_credentials(mailbox, state_dir)
        consented = consent_time(path)
        with map_errors(mailbox.name, consented=consented):
            creds.refresh(request)
        save_credentials(creds, path, consented=consented)
        return f"the Google token in {path} is valid (refreshed)"
    if mailbox.client_secrets_file is None:
        raise ConfigError(
            [
                ConfigProblem(
                    mailbox.name,
                    "client_secrets_file",
                    "needed for `kith auth`: download the OAuth client JSON (type Desktop app) from the Google Cloud console",
                )
            ]
        )
    from google_auth_oauthlib.flow import InstalledAppFlow

    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(mailbox.client_secrets_file), scopes=scopes)
    except (ValueError, OSError) as exc:
        raise ConfigError([ConfigProblem(mailbox.name, "client_secrets_file", str(exc))]) from exc
    say("kith asks Google for these permissions, and no others:\n" + explain_scopes(scopes))
    if open_browser is None:
        open_browser = _has_browser()
    with map_errors(mailbox.name):
        if open_browser:
            creds = flow.run_local_server(
                host="localhost",
                port=0,
                open_browser=True,
                authorization_prompt_message="Opening the Google consent page; if nothing opens, visit:\n{url}",
                success_message="kith is authorized; you may close this window.",
                timeout_seconds=600,
                access_type="offline",
                prompt="consent",
            )
        else:
            creds = _paste_flow(flow, prompt=prompt, say=say)
    save_credentials(creds, path, consented=datetime.now(UTC))
    return f"authorized {mailbox.name}; token saved to {path} (mode 0600)"


def _paste_flow(flow: Any, *, prompt: Callable[[str], str], say: Callable[[str], None]) -> Any:
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error
    from requests import RequestException

    flow.redirect_uri = PASTE_REDIRECT
    try:
        url, state = flow.authorization_url(access_type="offline", prompt="consent")
    except OAuth2Error as exc:
        raise AuthError(f"cannot start the Google consent: {exc.description or exc.error}") from exc
    say(
        "Open this address in a browser on any machine and allow access:\n\n"
        f"  {url}\n\n"
        "The browser then goes to a http://localhost:1/ address that does not load. "
        "Copy that whole address from the address bar and paste it here."
    )
    pasted = prompt("Address after consent: ").strip()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(pasted).query)
    if "error" in query:
        raise AuthError(f"Google consent refused: {query['error'][0]}")
    if query.get("state", [""])[0] != state:
        raise AuthError("the pasted address is not the answer to this consent request (state mismatch)")
    code = query.get("code", [""])[0]
    if not code:
        raise AuthError("the pasted address carries no authorization code", hint="paste the whole address")

    try:
        flow.fetch_token(code=code)
    except OAuth2Error as exc:
        raise AuthError(f"Google refused the authorization code: {exc.error}") from exc
    except RequestException as exc:
        raise TransientError(f"cannot reach Google's token endpoint: {type(exc).__name__}") from exc
    return flow.credentials


def _has_browser() -> bool:
    """A local graphical browser can be opened (a desktop session), so the loopback flow works."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"):
        return False
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


__all__ = [
    "CONSENT_KEY",
    "COVERED_BY",
    "SCOPE_CALENDAR",
    "SCOPE_METADATA",
    "SCOPE_SEND",
    "WHY",
    "TokenKeeper",
    "authorize",
    "consent_time",
    "explain_scopes",
    "load_credentials",
    "missing_scopes",
    "save_credentials",
    "scopes_for",
    "service_account_credentials",
    "token_path",
]
