"""The helper process: results in order, errors as inline, a dead helper loses and repeats nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kith.connectors.parallel import HelperProcess


def _square(x: int) -> int:
    return x * x


def _square_or_die(job: tuple[int, int]) -> tuple[int, int]:
    """Kills the helper process at item 5; in the parent process it just computes."""
    x, parent = job
    if x == 5 and os.getpid() != parent:
        os._exit(1)
    return x, os.getpid()


def _fail_at_three(x: int) -> int:
    if x == 3:
        raise ValueError("bad item 3")
    return x


def test_results_come_in_order_and_the_helper_is_reused() -> None:
    helper = HelperProcess()
    try:
        assert list(helper.map(_square, range(20), prefetch=2)) == [x * x for x in range(20)]
        assert list(helper.map(_square, [7, 8])) == [49, 64]  # the same helper, a second time
    finally:
        helper.close()


def _slow_square_or_die(job: tuple[int, int]) -> tuple[int, int]:
    """Kills the helper process at item 1500; in the parent process it just computes."""
    x, parent = job
    time.sleep(0.002)
    if x == 1500 and os.getpid() != parent:
        os._exit(1)
    return x, os.getpid()


def test_a_helper_that_dies_mid_way_loses_and_repeats_nothing() -> None:
    helper = HelperProcess()
    parent = os.getpid()
    try:
        out = list(helper.map(_slow_square_or_die, [(x, parent) for x in range(1600)], prefetch=3))
    finally:
        helper.close()
    assert [x for x, _pid in out] == list(range(1600))
    assert any(pid != parent for _x, pid in out[:1500])  # the helper did some before it died
    assert all(pid == parent for _x, pid in out[1500:])  # the rest, including the fatal one, here


def _slow_pid(x: int) -> tuple[int, int]:
    time.sleep(0.01)
    return x, os.getpid()


def test_unordered_works_here_while_the_helper_starts_and_delivers_everything_once() -> None:
    helper = HelperProcess()
    try:
        out = list(helper.map(_slow_pid, range(200), prefetch=2, ordered=False))
    finally:
        helper.close()
    assert sorted(x for x, _pid in out) == list(range(200))
    pids = [pid for _x, pid in out]
    assert pids[0] == os.getpid()  # the helper was still starting: the first item was done here
    assert any(pid != os.getpid() for pid in pids)  # then the helper took over


def test_in_order_the_first_items_are_done_here_while_the_helper_starts() -> None:
    helper = HelperProcess()
    try:
        out = list(helper.map(_slow_pid, range(200), prefetch=2))
    finally:
        helper.close()
    assert [x for x, _pid in out] == list(range(200))
    pids = [pid for _x, pid in out]
    assert pids[0] == os.getpid()  # the helper was still starting: the oldest item was done here
    assert pids[-1] != os.getpid()  # then the helper took over, and kept it


def _die_in_helper(job: tuple[int, int]) -> tuple[int, int]:
    """Kills the helper process on its first item, whichever that is; here it just computes."""
    x, parent = job
    if os.getpid() != parent:
        os._exit(1)
    return x, os.getpid()


def test_unordered_a_helper_that_dies_loses_and_repeats_nothing() -> None:
    helper = HelperProcess()
    parent = os.getpid()
    try:
        out = list(helper.map(_die_in_helper, [(x, parent) for x in range(40)], prefetch=3, ordered=False))
    finally:
        helper.close()
    assert sorted(x for x, _pid in out) == list(range(40))
    assert helper._unavailable  # it did die, and what it held was redone here


def _fail_here_at_three(job: tuple[int, int]) -> int:
    x, parent = job
    if x == 3 and os.getpid() == parent:
        raise RuntimeError("bad item 3, here")
    return x


def test_unordered_an_error_of_an_item_done_here_reaches_the_consumer() -> None:
    """Item 3 is the first one done here (items 0-2 wait for the starting helper): its error is
    the consumer's, not taken for a broken helper (which would lose the item silently)."""
    helper = HelperProcess()
    parent = os.getpid()
    try:
        with pytest.raises(RuntimeError, match="bad item 3, here"):
            list(helper.map(_fail_here_at_three, [(x, parent) for x in range(10)], prefetch=2, ordered=False))
        assert not helper._unavailable
    finally:
        helper.close()


def test_an_error_of_the_function_reaches_the_consumer() -> None:
    helper = HelperProcess()
    try:
        with pytest.raises(ValueError, match="bad item 3"):
            list(helper.map(_fail_at_three, range(6)))
    finally:
        helper.close()


def _pid(_x: int) -> int:
    return os.getpid()


def test_the_helper_does_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    """SIGKILL of kith must not leave the helper (nor its forkserver) running as an orphan."""
    code = (
        "import sys, time\n"
        "from kith.connectors.parallel import HelperProcess\n"
        "from tests.connectors.test_parallel import _pid\n"
        "h = HelperProcess()\n"
        "print(next(iter(h.map(_pid, [0]))), flush=True)\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        worker = int(proc.stdout.readline())
        os.kill(worker, 0)  # running
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, 9)
    pytest.fail(f"helper process {worker} outlived its killed parent")


def _items_then(error: Exception, n: int) -> Any:
    yield from range(n)
    raise error


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
@pytest.mark.parametrize("error", [TimeoutError("timed out"), ValueError("bad")], ids=["OSError", "ValueError"])
def test_an_error_of_the_input_reaches_the_consumer_after_what_came_before(ordered: bool, error: Exception) -> None:
    """An input iterator that fails (a FETCH that timed out, in the IMAP pipeline) is not a
    helper that failed: its items so far come out, then its error, and the helper stays usable."""
    helper = HelperProcess()
    out: list[int] = []
    try:
        with pytest.raises(type(error)):
            for x in helper.map(_square, _items_then(error, 10), prefetch=2, ordered=ordered):
                out.append(x)
        assert sorted(out) == [x * x for x in range(10)]
        assert not helper._unavailable
    finally:
        helper.close()
