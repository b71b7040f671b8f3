"""kith.report: the nightly report — built from the store as data, rendered (Jinja2 text + HTML,
charts as HTML bars), and delivered exactly once per (date, recipient).

Modules: ``sections`` (pure rules: windows, links, cut-offs, stage changes), ``numbers`` (counts
and reply times from the tables), ``data`` (the report as JSON-able data), ``charts``,
``formatting`` and ``render`` (+ ``templates/``), ``message`` (the MIME message and its headers),
``deliver`` (SMTP, IMAP APPEND, provider send), ``api`` (what the CLI and the daemon call). The
``reports`` table's bookkeeping (claim, mark, backoff) is SQL, so it is ``kith.store.reports``.
"""

from __future__ import annotations

__all__ = ["api"]
