"""What the ``gmail_env`` and ``graph_env`` fixtures share: a started fake, a state directory, and
a retry policy that records the waits it asks for instead of sleeping them (so tests can check
that Retry-After was honoured without spending it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from kith.connectors.retry import RetryPolicy

F = TypeVar("F")


@dataclass
class FakeEnv(Generic[F]):
    fake: F
    state_dir: Path
    name: str = "work"
    sleeps: list[float] = field(default_factory=list)

    def retry(self, attempts: int = 4) -> RetryPolicy:
        return RetryPolicy(attempts=attempts, initial=0.01, maximum=0.05, sleep=self.sleeps.append)


__all__ = ["FakeEnv"]
