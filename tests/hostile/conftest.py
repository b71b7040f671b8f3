"""Hypothesis settings for the fuzz suite, and its counts at the end of the run.

``make test`` runs the profile ``bounded``: a fixed, small number of examples per test
(``FUZZ_EXAMPLES``, default 12), derandomized so a run is repeatable and cannot flake.
``make fuzz`` runs the profile ``fuzz``: ``FUZZ_EXAMPLES`` (default 400) new random examples per
test, with Hypothesis' example database so a failure found once is tried first next time.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

_COMMON: dict[str, Any] = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile(
    "bounded", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")), derandomize=True, database=None, **_COMMON
)
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")), **_COMMON)
#: The profile the fuzz tests use (only they: no other test's settings change).
FUZZ = settings.get_profile(os.environ.get("KITH_FUZZ_PROFILE", "bounded"))

#: What the fuzz tests did (see ``test_fuzz``): printed at the end, and written to
#: ``$KITH_FUZZ_REPORT`` when it is set (``make fuzz`` sets bench/results/fuzz.json).
COUNTS: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    terminalreporter.write_sep("-", "hostile-mail fuzz")
    keys = ("examples", "inputs tried", "messages stored", "items recorded as problems", "events stored")
    for key in (*keys, "streams stalled", "crashes"):
        terminalreporter.write_line(f"{key}: {COUNTS.get(key, 0)}")
    target = os.environ.get("KITH_FUZZ_REPORT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps(dict(COUNTS), indent=2, sort_keys=True) + "\n")
