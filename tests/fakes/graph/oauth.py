"""Microsoft identity platform endpoints as the fake serves them, and a way for msal to reach them.

msal only accepts ``https://`` authorities, and the fake is plain HTTP on 127.0.0.1, so tests
hand msal a ``LoginClient``: an HTTP client with msal's ``get``/``post`` shape that rewrites
``https://login.fake.test/`` to the fake's ``/login/`` prefix. Everything else is msal as it
runs: OpenID discovery, the device-code grant with ``authorization_pending`` polling, refresh
tokens (rotated on every refresh), client credentials, id tokens and ``client_info`` for the
account in its cache.

Endpoints (under ``/login/{tenant}``): ``GET v2.0/.well-known/openid-configuration``,
``POST oauth2/v2.0/devicecode``, ``POST oauth2/v2.0/token``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from typing import Any

import httpx

from tests.fakes.http import Reply

LOGIN_HOST = "https://login.fake.test"
RESERVED = frozenset({"openid", "profile", "offline_access"})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class LoginEndpoints:
    """Token state and grants; mixed into ``FakeGraph``."""

    _lock: threading.Lock
    user_email: str
    client_secret: str = "fake-secret"

    def _init_login(self) -> None:
        self.access_tokens: dict[str, str] = {}  # token -> "user" | "app"
        self.refresh_tokens: dict[str, str] = {}  # token -> user
        self.device_codes: dict[str, bool] = {}  # device code -> approved
        self.device_scopes: dict[str, str] = {}  # device code -> scopes asked for
        #: The scopes of every device-code sign-in started, in order (what the user was asked to allow).
        self.scopes_asked: list[str] = []
        self.user_codes: dict[str, str] = {}  # user code -> device code
        self.token_grants: Counter[str] = Counter()
        self.auto_approve = False
        #: The application permissions an admin consented to (the ``roles`` of app-only tokens).
        self.app_roles: list[str] = ["Mail.Read", "Calendars.Read"]
        self.revoked = False
        self._n = 0

    # -- admin ----------------------------------------------------------------------------------

    def issue_token(self, kind: str = "user", scopes: str = "Mail.Read Calendars.Read") -> str:
        """A valid access token, as if a sign-in had happened (tests that do not test msal)."""
        with self._lock:
            return self._access(kind, scopes)

    def _access(self, kind: str, scopes: str) -> str:
        """A new access token shaped like Entra ID's: a JWT whose ``scp`` (delegated) or ``roles``
        (app-only) claim lists what was granted. Called holding the lock."""
        self._n += 1
        claims: dict[str, Any] = {"scp": scopes} if kind == "user" else {"roles": list(self.app_roles)}
        token = f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.fake-{kind}-{self._n}"
        self.access_tokens[token] = kind
        return token

    def approve(self, user_code: str) -> None:
        """The user entered the code and signed in."""
        with self._lock:
            self.device_codes[self.user_codes[user_code]] = True

    def revoke(self) -> None:
        """The user or an admin revoked every session: refresh tokens and access tokens die."""
        with self._lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()
            self.revoked = True

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens.clear()

    # -- endpoints ------------------------------------------------------------------------------

    def openid_configuration(self, tenant: str) -> Reply:
        base = f"{LOGIN_HOST}/{tenant}"
        return Reply.json(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "response_types_supported": ["code", "id_token", "token"],
                "tenant_region_scope": "EU",
            },
        )

    def device_code(self, tenant: str, form: dict[str, str]) -> Reply:
        with self._lock:
            self._n += 1
            device, user = f"DC-{self._n}-device", f"FAKE{self._n:04d}"
            self.device_codes[device] = self.auto_approve
            self.device_scopes[device] = form.get("scope", "")
            self.scopes_asked.append(form.get("scope", ""))
            self.user_codes[user] = device
        return Reply.json(
            200,
            {
                "device_code": device,
                "user_code": user,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 1,
                "message": f"To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
                f"and enter the code {user} to authenticate.",
            },
        )

    def _tokens(self, tenant: str, form: dict[str, str], *, with_refresh: bool) -> Reply:
        scopes = [s for s in form.get("scope", "").split() if s not in RESERVED]
        with self._lock:
            access = self._access("user", " ".join(scopes))
            refresh = f"0.fake-refresh-{self._n}"
            self.refresh_tokens[refresh] = self.user_email
        now = int(time.time())
        claims = {
            "iss": f"{LOGIN_HOST}/{tenant}/v2.0",
            "aud": form.get("client_id", ""),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": "00000000-0000-0000-0000-000000000001",
            "sub": "fake-subject",
            "tid": tenant,
            "preferred_username": self.user_email,
            "name": "Fake User",
        }
        id_token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        body = {
            "token_type": "Bearer",
            "scope": " ".join(scopes),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access,
            "id_token": id_token,
            "client_info": _b64({"uid": claims["oid"], "utid": tenant}),
        }
        if with_refresh:
            body["refresh_token"] = refresh
        return Reply.json(200, body)

    def token(self, tenant: str, form: dict[str, str]) -> Reply:
        grant = form.get("grant_type", "")
        with self._lock:
            self.token_grants[grant] += 1
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            with self._lock:
                state = self.device_codes.get(form.get("device_code", ""))
            if state is None:
                return Reply.json(400, {"error": "expired_token", "error_description": "AADSTS70019: code expired"})
            if not state:
                return Reply.json(400, {"error": "authorization_pending", "error_description": "AADSTS70016: pending"})
            with self._lock:
                self.device_codes.pop(form["device_code"], None)
                scope = self.device_scopes.pop(form["device_code"], "")
            return self._tokens(tenant, {**form, "scope": scope}, with_refresh=True)
        if grant == "refresh_token":
            with self._lock:
                user = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotated
            if user is None:
                return Reply.json(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "AADSTS50173: The provided grant has expired due to it being revoked.",
                        "suberror": "bad_token",
                    },
                )
            return self._tokens(tenant, form, with_refresh=True)
        if grant == "client_credentials":
            if form.get("client_secret") != self.client_secret:
                return Reply.json(
                    401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}
                )
            with self._lock:
                access = self._access("app", "")
            return Reply.json(
                200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access}
            )
        return Reply.json(400, {"error": "unsupported_grant_type", "error_description": grant})


class LoginClient:
    """msal's ``http_client`` for tests: ``https://login.fake.test/...`` → the fake's ``/login/...``."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/") + "/login"
        self.http = httpx.Client(timeout=10)
        self.urls: list[str] = []

    def _url(self, url: str) -> str:
        self.urls.append(url)
        assert url.startswith(LOGIN_HOST), f"msal tried to reach {url}"
        return self.base + url[len(LOGIN_HOST) :]

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.get(self._url(url), params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        return self.http.post(self._url(url), params=params, data=data, headers=headers)

    def close(self) -> None:
        self.http.close()


__all__ = ["LOGIN_HOST", "LoginClient", "LoginEndpoints", "Reply"]
