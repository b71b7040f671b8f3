"""The upsert's own value conversion: the JSON text it stores, columns converted once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from kith.store.upsert import _convert, _json


def test_json_text_is_what_json_dumps_writes() -> None:
    for value in (
        ["<a@x>", "b\u00e9\U0001f642"],
        {"b": 1, "a": [1, 2.5, None, True]},
        [],
        "x",
        {"d": date(2026, 1, 1)},
    ):
        assert _json(value) == json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    assert _json(None) is None


def test_a_column_of_one_object_is_converted_once_and_others_value_by_value() -> None:
    calls: list[object] = []

    def conv(v: object) -> object:
        calls.append(v)
        return repr(v)

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert list(_convert(conv, (now, now, now))) == [repr(now)] * 3 and calls == [now]
    calls.clear()
    equal_not_same = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert list(_convert(conv, (now, None, now))) == [repr(now), "None", repr(now)]
    assert list(_convert(conv, equal_not_same)) == [repr(now)] * 2 and len(calls) == 5
