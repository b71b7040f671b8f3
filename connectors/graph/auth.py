"""Microsoft sign-in through msal: device code once (``kith auth``), then silent refresh forever.

Two ways in, both from the mailbox config (``tenant_id``, ``client_id``, ``auth``):

- **Device code** (``auth = "device_code"``, a person's own mailbox): ``kith auth NAME`` prints
  Microsoft's "open https://microsoft.com/devicelogin and enter code XXXX" line; the user signs
  in on any device, msal polls the token endpoint until it is done. Works on a headless server,
  which is why it is the default. Delegated scopes, least privilege (``scopes_for``):
  ``Mail.ReadBasic`` when ``fetch_headers = false``, else ``Mail.Read`` (the raw headers need
  more than ReadBasic); ``Calendars.Read`` only with a Graph calendar; ``Mail.Send`` only when
  the report goes out here.
- **Client credentials** (``auth = "client_credentials"``, an admin syncing a team): app-only
  access with ``https://graph.microsoft.com/.default`` (the application permissions the admin
  consented to), the secret from ``client_secret_file`` or a systemd credential; ``user`` names
  whose mailbox is read.

The token cache is msal's ``SerializableTokenCache``, written with ``write_private`` (0600,
atomic) to ``token_cache`` or ``$STATE/msal/NAME.json`` whenever msal changed it (a refresh
rotates the refresh token). ``MsalTokens`` is the token provider ``GraphClient`` calls: it asks
msal for a token silently (the cache, else the refresh token); ``force_refresh`` after a 401.
A refused refresh (``invalid_grant``: revoked, expired, password changed, consent withdrawn)
becomes an ``AuthError`` whose hint is ``kith auth NAME``; it is never retried in a loop.

msal builds its application by fetching the authority's OpenID configuration, so that happens
lazily on the first token request, not when a source is constructed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msal

from kith.config.mailboxes import GraphCalendar, GraphMailbox
from kith.config.secrets import SecretRef, check_secret_file, write_private
from kith.errors import AuthError, ConfigError, ConfigProblem, TransientError

log = logging.getLogger(__name__)

LOGIN = "https://login.microsoftonline.com"
DELEGATED_SCOPES: tuple[str, ...] = ("Mail.Read", "Calendars.Read")
SEND_SCOPE = "Mail.Send"
#: Why kith asks for each permission (``kith auth`` and ``kith check`` say it).
WHY: dict[str, str] = {
    "Mail.ReadBasic": "read message headers as Graph types them (no bodies, no raw headers)",
    "Mail.Read": "also read the raw List-Id/Auto-Submitted headers that tell newsletters apart (fetch_headers)",
    "Calendars.Read": "read your calendar events (meetings count as contact)",
    "Mail.Send": 'send the nightly report from this mailbox ([report] deliver = "graph")',
}
APP_SCOPES: tuple[str, ...] = ("https://graph.microsoft.com/.default",)
#: Token endpoint errors that mean "sign in again"; anything else is worth another try later.
#: Seconds before expiry at which a held access token is no longer handed out.
EXPIRY_MARGIN = 300.0
REAUTH_ERRORS = frozenset(
    {
        "invalid_grant",
        "interaction_required",
        "consent_required",
        "login_required",
        "invalid_client",
        "unauthorized_client",
    }
)


def msal_http_client() -> Any | None:
    """The HTTP client msal uses; None is msal's own ``requests`` session. Tests replace this."""
    return None


def cache_path(mailbox: GraphMailbox, state_dir: Path) -> Path:
    return mailbox.token_cache or state_dir / "msal" / f"{mailbox.name or 'graph'}.json"


def authority(mailbox: GraphMailbox) -> str:
    return (mailbox.authority or f"{LOGIN}/{mailbox.tenant_id}").rstrip("/")


def scopes_for(mailbox: GraphMailbox, *, send: bool = False) -> list[str]:
    """What the configuration needs and no more (app-only: what the admin consented to)."""
    if mailbox.auth == "client_credentials":
        return list(APP_SCOPES)
    scopes = ["Mail.Read" if mailbox.fetch_headers else "Mail.ReadBasic"]
    if isinstance(mailbox.calendar, GraphCalendar):
        scopes.append("Calendars.Read")
    if send:
        scopes.append(SEND_SCOPE)
    return scopes


def explain_scopes(scopes: list[str]) -> str:
    """One line per permission: what it is and why kith asks for it."""
    return "\n".join(f"  {s}: {WHY.get(s, 'the application permissions an admin consented to')}" for s in scopes)


def client_secret(mailbox: GraphMailbox) -> str:
    ref = SecretRef(file=mailbox.client_secret_file, credential=mailbox.client_secret_credential)
    if ref.empty:
        raise ConfigError(
            [ConfigProblem(mailbox.name, "client_secret_file", "client_credentials needs the app's client secret")]
        )
    return ref.resolve()


@contextmanager
def _msal_errors(mailbox: GraphMailbox) -> Iterator[None]:
    """msal raises its HTTP client's exceptions and ValueError for a bad authority."""
    import requests

    try:
        yield
    except ValueError as exc:
        key = "authority" if mailbox.authority else "tenant_id"
        raise ConfigError([ConfigProblem(mailbox.name, key, f"Microsoft sign-in rejected it: {exc}")]) from exc
    except (requests.RequestException, OSError) as exc:
        raise TransientError(f"cannot reach Microsoft's sign-in service: {type(exc).__name__}") from exc
    except Exception as exc:  # an httpx-style client in tests or a custom one
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise TransientError(f"cannot reach Microsoft's sign-in service: {type(exc).__name__}") from exc
        raise


def token_of(result: dict[str, Any] | None, mailbox: GraphMailbox) -> str:
    """The access token of an msal result, or the kith error its failure means."""
    if result is None:
        raise AuthError(f"no usable Microsoft sign-in for mailbox {mailbox.name!r}", mailbox=mailbox.name)
    if result.get("access_token"):
        return str(result["access_token"])
    error = str(result.get("error") or "unknown_error")
    why = str(result.get("error_description") or "").splitlines()[0:1]
    message = f"Microsoft refused the token request ({error}{': ' + why[0] if why else ''})"
    if error in REAUTH_ERRORS or error == "unknown_error":
        raise AuthError(message, mailbox=mailbox.name)
    raise TransientError(message)


class MsalTokens:
    """Token provider for ``GraphClient`` backed by msal and a 0600 token cache file."""

    def __init__(self, mailbox: GraphMailbox, state_dir: Path, *, http_client: Any = None, send: bool = False) -> None:
        self.mailbox = mailbox
        self.path = cache_path(mailbox, state_dir)
        self.scopes = scopes_for(mailbox, send=send)
        self.http_client = http_client if http_client is not None else msal_http_client()
        self.cache = msal.SerializableTokenCache()
        self._stamp: tuple[int, int] | None = None
        if not self.path.exists() and mailbox.auth == "device_code":
            raise AuthError(
                f"no Microsoft sign-in for mailbox {mailbox.name!r} yet ({self.path})", mailbox=mailbox.name
            )
        self._load()
        self._app: Any = None
        self._token: str | None = None
        self._until = 0.0

    def _load(self) -> None:
        """(Re)read the cache file if it changed on disk: ``kith auth`` ran in another process, or
        the other source of this mailbox (mail and calendar each hold a provider) rotated tokens."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            check_secret_file(self.path, file=str(self.path), key="token_cache")
        except ConfigError as exc:
            raise AuthError(str(exc), mailbox=self.mailbox.name, hint=f"chmod 600 {self.path}") from exc
        try:
            self.cache.deserialize(self.path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise AuthError(f"the token cache {self.path} is unreadable: {exc}", mailbox=self.mailbox.name) from exc
        self._stamp = stamp
        self._token = None

    @property
    def app(self) -> Any:
        if self._app is None:
            kwargs: dict[str, Any] = {
                "authority": authority(self.mailbox),
                "token_cache": self.cache,
                "timeout": 30,
                "http_client": self.http_client,
            }
            if self.mailbox.authority:  # a sovereign cloud or a test: no instance discovery elsewhere
                kwargs["instance_discovery"] = False
            with _msal_errors(self.mailbox):
                if self.mailbox.auth == "client_credentials":
                    secret = client_secret(self.mailbox)
                    self._app = msal.ConfidentialClientApplication(
                        self.mailbox.client_id, client_credential=secret, **kwargs
                    )
                else:
                    self._app = msal.PublicClientApplication(self.mailbox.client_id, **kwargs)
        return self._app

    def __call__(self, force_refresh: bool = False) -> str:
        """A valid access token; msal is asked only when the one at hand is about to expire."""
        self._load()
        if self._token and not force_refresh and time.monotonic() < self._until:
            return self._token
        app = self.app
        with _msal_errors(self.mailbox):
            if self.mailbox.auth == "client_credentials":
                if force_refresh:  # msal would hand back the refused token from its cache
                    for at in list(self.cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                        self.cache.remove_at(at)
                result = app.acquire_token_for_client(self.scopes)
            else:
                accounts = app.get_accounts()
                if not accounts:
                    raise AuthError(
                        f"the token cache {self.path} holds no Microsoft account", mailbox=self.mailbox.name
                    )
                result = app.acquire_token_silent_with_error(self.scopes, accounts[0], force_refresh=force_refresh)
        self.persist()
        token = token_of(result, self.mailbox)
        try:
            lifetime = float((result or {}).get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        self._token, self._until = token, time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN)
        return token

    def persist(self) -> None:
        """Write the cache back if msal changed it (a refresh rotates the refresh token)."""
        if not self.cache.has_state_changed:
            return
        try:
            write_private(self.path, self.cache.serialize())
            self.cache.has_state_changed = False
            st = self.path.stat()
            self._stamp = (st.st_mtime_ns, st.st_size)
        except OSError as exc:  # the old file still holds a valid refresh token
            log.warning("could not save the Microsoft token cache to %s: %s", self.path, exc.strerror)


def authorize(
    mailbox: GraphMailbox,
    *,
    state_dir: Path,
    interactive: bool = True,
    send: bool = False,
    say: Callable[[str], None] = print,
    http_client: Any = None,
) -> str:
    """``kith auth NAME``: sign in (device code) or check the credentials; returns a line to show."""
    path = cache_path(mailbox, state_dir)
    if mailbox.auth == "client_credentials":
        tokens = MsalTokens(mailbox, state_dir, http_client=http_client)
        tokens(force_refresh=True)
        return f"app-only access for {mailbox.user or '?'} works (tenant {mailbox.tenant_id})"
    if not interactive:
        tokens = MsalTokens(mailbox, state_dir, http_client=http_client, send=send)
        tokens(force_refresh=True)
        return f"the Microsoft sign-in in {path} is valid (refreshed)"
    if not path.exists():
        write_private(path, "{}")  # an empty cache, 0600 from the start
    tokens = MsalTokens(mailbox, state_dir, http_client=http_client, send=send)
    app = tokens.app
    with _msal_errors(mailbox):
        flow = app.initiate_device_flow(scopes=tokens.scopes)
        if "user_code" not in flow:
            raise AuthError(
                f"cannot start the Microsoft device sign-in: {flow.get('error_description') or flow.get('error')}",
                hint="check tenant_id and client_id, and that the app allows public client flows",
            )
        asks = "kith asks Microsoft for these permissions, and no others:\n" + explain_scopes(tokens.scopes)
        say(
            asks
            + "\n\n"
            + str(flow.get("message") or f"Open {flow.get('verification_uri')} and enter the code {flow['user_code']}")
        )
        result = app.acquire_token_by_device_flow(flow)  # polls until the user is done or the code expires
    token_of(result, mailbox)
    tokens.persist()
    who = ((result or {}).get("id_token_claims") or {}).get("preferred_username") or mailbox.name
    return f"authorized {mailbox.name} as {who}; token cache saved to {path} (mode 0600)"


__all__ = [
    "APP_SCOPES",
    "DELEGATED_SCOPES",
    "SEND_SCOPE",
    "WHY",
    "MsalTokens",
    "authority",
    "authorize",
    "cache_path",
    "client_secret",
    "explain_scopes",
    "msal_http_client",
    "scopes_for",
    "token_of",
]
