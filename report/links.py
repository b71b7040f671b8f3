"""Where "Open in mail" goes: one URL per message that opens it in its own mail program.

- **Gmail** (an API mailbox, or IMAP on Gmail): the web UI's search for ``rfc822msgid:``, which
  finds the message by its Message-ID header whatever folder or label holds it
  (https://support.google.com/mail/answer/7190 lists the ``rfc822msgid:`` operator).
- **Microsoft Graph**: the message's ``webLink`` (the Outlook on the web link Graph gives for a
  message, https://learn.microsoft.com/graph/api/resources/message); when the store holds no
  ``webLink``, its shape built from the message id.
- **Anything else**: an RFC 2392 ``mid:`` URL, which a desktop mail program registered for the
  scheme opens (Thunderbird does); the Message-ID without its angle brackets, percent-encoded.

``kith.report.actions`` picks the best copy of a message and gives every report row and every
flag of ``kith flags --json`` its ``open_url`` from here; the web app calls it too.
"""

from __future__ import annotations

from urllib.parse import quote

from kith.report.sections import OUTLOOK_WEBLINK, MessageWhere, is_gmail

GMAIL_SEARCH_URL = "https://mail.google.com/mail/u/{account}/#search/{query}"


def mid_url(message_id: str) -> str:
    """RFC 2392: ``mid:`` + the addr-spec of the Message-ID, ``%``-encoded where URLs need it."""
    return "mid:" + quote(message_id.strip().strip("<>"), safe="@!$&'()*+,;=-._~")


def gmail_search(query: str, account: str | None = None) -> str:
    """Gmail's web search for ``query`` in the account ``account`` (its address: Gmail's
    ``/mail/u/<address>/`` picks the signed-in account by address, not by its position)."""
    who = quote(account, safe="@") if account else "0"
    return GMAIL_SEARCH_URL.format(account=who, query=quote(query, safe=""))


def open_url(where: MessageWhere, web_link: str | None = None, account: str | None = None) -> str | None:
    """The best URL that opens ``where``'s message, or None when it has no Message-ID at all.
    ``account``: the Gmail address the message is in (else the first signed-in account)."""
    mid = (where.message_id or "").strip()
    if is_gmail(where) and mid:
        return gmail_search(f"rfc822msgid:{mid.strip('<>')}", account)
    if where.mailbox_kind == "graph":
        if web_link and web_link.startswith("https://"):
            return web_link
        if where.provider_key:
            return OUTLOOK_WEBLINK.format(item=quote(where.provider_key, safe=""))
    return mid_url(mid) if mid else None


def compose_url(address: str) -> str:
    """RFC 6068: a new message to ``address`` in the reader's own mail program."""
    return "mailto:" + quote(address, safe="@")


__all__ = ["GMAIL_SEARCH_URL", "compose_url", "gmail_search", "mid_url", "open_url"]
