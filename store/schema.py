"""Import every table module so ``Base.metadata`` is complete (for Alembic and create_all)."""

from __future__ import annotations

from kith.store import commands, derived, models

__all__ = ["commands", "derived", "models"]
