"""Google's OAuth endpoints as the fake serves them: token grants and the consent redirect."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections import Counter
from typing import Any

from tests.fakes import http
from tests.fakes.gmail.mailbox import ApiError

#: Refresh tokens of an OAuth client in "Testing" publishing status expire 7 days after consent
#: (Google's OAuth 2.0 guide, "Refresh token expiration"; the Nest Device Access errors page).
TESTING_LIFETIME = 7 * 24 * 3600.0


class Reply(http.Reply):
    json_type = "application/json; charset=UTF-8"  # as Google sends it


class OAuthEndpoints:
    """``POST /token`` (refresh, authorization code, service-account JWT) and ``GET /auth``."""

    _lock: threading.Lock
    _seq: Any
    token_grants: Counter[str]
    refresh_tokens: dict[str, list[str]]
    codes: dict[str, list[str]]
    subjects: list[str]
    testing_status: bool
    refresh_issued: dict[str, float]

    def _maybe_fail(self, op: str) -> None:  # pragma: no cover - provided by FakeGoogle
        raise NotImplementedError

    def issue_tokens(self, scopes: tuple[str, ...] = ()) -> tuple[str, str]:  # pragma: no cover
        raise NotImplementedError

    def token(self, form: dict[str, str]) -> Reply:
        grant = form.get("grant_type", "")
        with self._lock:
            self.token_grants[grant] += 1
        try:
            self._maybe_fail("token")
        except ApiError as exc:
            return Reply.json(exc.status, {"error": "internal_failure", "error_description": exc.message}, exc.headers)
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            with self._lock:
                scopes = self.refresh_tokens.get(refresh)
                issued = self.refresh_issued.get(refresh, time.time())
            if self.testing_status and time.time() - issued > TESTING_LIFETIME:
                scopes = None  # an unpublished ("Testing") client: the grant died after 7 days
            if scopes is None:
                return Reply.json(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            access, _ = self.issue_tokens(tuple(scopes))
            return Reply.json(
                200, {"access_token": access, "expires_in": 3599, "scope": " ".join(scopes), "token_type": "Bearer"}
            )
        if grant == "authorization_code":
            with self._lock:
                scopes = self.codes.pop(form.get("code", ""), None)
            if scopes is None:
                return Reply.json(400, {"error": "invalid_grant", "error_description": "Malformed auth code."})
            access, refresh = self.issue_tokens(tuple(scopes))
            return Reply.json(
                200,
                {
                    "access_token": access,
                    "refresh_token": refresh,
                    "expires_in": 3599,
                    "scope": " ".join(scopes),
                    "token_type": "Bearer",
                },
            )
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = _jwt_claims(form.get("assertion", ""))
            if not claims.get("iss") or not claims.get("scope"):
                return Reply.json(400, {"error": "invalid_grant", "error_description": "Invalid JWT."})
            with self._lock:
                self.subjects.append(str(claims.get("sub", "")))
            access, _ = self.issue_tokens(tuple(str(claims["scope"]).split()))
            return Reply.json(200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"})
        return Reply.json(400, {"error": "unsupported_grant_type", "error_description": grant})

    def consent(self, params: dict[str, list[str]]) -> Reply:
        """The user clicks "Allow": redirect back to the client's loopback address with a code."""
        redirect = params.get("redirect_uri", [""])[0]
        code = f"4/fake-code-{next(self._seq)}"
        scopes = params.get("scope", [""])[0].split()
        with self._lock:
            self.codes[code] = scopes
        query = urllib.parse.urlencode({"state": params.get("state", [""])[0], "code": code, "scope": " ".join(scopes)})
        return Reply(302, b"", {"Location": f"{redirect}?{query}"})


def _jwt_claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


__all__ = ["OAuthEndpoints", "Reply"]
