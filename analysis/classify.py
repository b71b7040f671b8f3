"""Automated mail: the header signals of DESIGN.md, one reason string per message.

A message is automated when any signal says a machine or a list sent it. The reason is kept
(``kith contacts --automated`` shows it) so a user who disagrees can see exactly why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: noreply-style and bounce local parts (``no-reply``, ``donotreply``, ``mailer-daemon``, ``bounces+x``…)
NOREPLY = re.compile(
    r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)([+.\-_].*)?$|^noreply\d*$", re.IGNORECASE
)
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
#: Gmail's tabs (label ids) and Outlook's "Other" are the providers' own verdicts on bulk mail.
AUTOMATED_LABELS = frozenset({"CATEGORY_PROMOTIONS", "CATEGORY_UPDATES", "CATEGORY_SOCIAL", "CATEGORY_FORUMS"})


def automated_reason(
    *,
    sender: str | None,
    list_id: str | None = None,
    list_unsubscribe: str | None = None,
    list_post: str | None = None,
    precedence: str | None = None,
    auto_submitted: str | None = None,
    return_path: str | None = None,
    labels: Iterable[str] = (),
) -> str | None:
    """The first signal that marks the message automated, or None for mail a person wrote."""
    if list_id:
        return "List-Id"
    if list_unsubscribe:
        return "List-Unsubscribe"
    if list_post:
        return "List-Post"
    if precedence and precedence.strip().lower() in BULK_PRECEDENCE:
        return f"Precedence: {precedence.strip().lower()}"
    if auto_submitted and auto_submitted.split(";")[0].strip().lower() not in ("", "no"):
        return f"Auto-Submitted: {auto_submitted.split(';')[0].strip().lower()}"
    if return_path is not None and return_path.strip().strip("<>").strip() == "":
        return "empty Return-Path"
    local = (sender or "").rpartition("@")[0]
    if local and NOREPLY.match(local):
        return f"no-reply sender {local}"
    hit = sorted(AUTOMATED_LABELS.intersection(labels))
    if hit:
        return f"provider category {hit[0]}"
    return None


__all__ = ["AUTOMATED_LABELS", "NOREPLY", "automated_reason"]
