"""Import every table module so ``Base.metadata`` is complete (for Alembic and create_all)."""

from __future__ import annotations

import contextlib

from kith.store import models  # noqa: F401

with contextlib.suppress(ImportError):  # derived tables arrive with kith.analysis
    from kith.store import derived  # noqa: F401
