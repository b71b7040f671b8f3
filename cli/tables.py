"""Tables that read well at any width: nothing that identifies a row is ever cut.

Rich shrinks every column of a table that is too wide, so at 80 columns ``kith status`` once read
``mail…``, ``stre…`` and ``2026…``. Here each column says how it may give way instead:

- a *fixed* column (ids, names, addresses, dates, counts) is never wrapped or cut;
- at most one *flex* column (a subject, an explanation, an error) takes the width left and wraps
  between words (a word longer than the column, such as a Message-ID, is folded);
- when even that does not fit, whole columns go, least important first (``drop`` order), so a
  narrow terminal shows fewer columns, each of them whole. A wide one shows them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

#: Narrowest a flex column may become before lower-priority columns are dropped for it.
FLEX_MIN = 16


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    #: Dropped when the table does not fit: higher first; 0 is never dropped.
    drop: int = 0
    #: The column that wraps (one per table)…
    flex: bool = False
    #: …and the width it needs to read well: columns are dropped to give it this much.
    min_width: int = FLEX_MIN
    justify: Literal["left", "right"] = "left"


def _build(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], keep: Sequence[int], *, measuring: bool = False
) -> Table:
    """The table of the ``keep`` columns. ``measuring``: the flex column capped at its ``min_width``,
    to measure the least width the table needs (Rich measures a no-wrap column by its longest
    word, not by its longest cell, so its own minimum would not do)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold")
    for i in keep:
        col = columns[i]
        if col.flex:
            cap = col.min_width if measuring else None
            table.add_column(col.header, justify=col.justify, overflow="fold", max_width=cap, ratio=1)
        else:
            table.add_column(col.header, justify=col.justify, no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def fit_table(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    """The table with as many of ``columns`` as fit ``console.width``, each one whole."""
    keep = list(range(len(columns)))
    order = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    wide = console.options.update(width=100_000)
    while True:
        least = Measurement.get(console, wide, _build(columns, rows, keep, measuring=True)).maximum
        if least <= console.width or not order:
            table = _build(columns, rows, keep)
            # a flex column takes the width left over; without one the table is as wide as its cells
            natural = Measurement.get(console, wide, table).maximum
            table.expand = natural > console.width
            return table
        keep.remove(order.pop()[1])


def print_table(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    console.print(fit_table(console, columns, rows))


__all__ = ["FLEX_MIN", "Column", "fit_table", "print_table"]
