"""Tables that read well at any width: nothing that identifies a row is ever cut.

Rich shrinks every column of a table that is too wide, so at 80 columns ``kith status`` once read
``mail…``, ``stre…`` and ``2026…``. Here each column says how it may give way instead:

- a *fixed* column (ids, names, addresses, dates, counts) is never wrapped or cut;
- at most one *flex* column (a subject, an explanation, an error) takes the width left and wraps
  between words; it is given at least its longest word (an address), so words are not folded
  unless the terminal is narrower than that word;
- when even that does not fit, whole columns go, least important first (``drop`` order), so a
  narrow terminal shows fewer columns, each of them whole. A wide one shows them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

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
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    keep: Sequence[int],
    *,
    measuring: bool = False,
    header: bool = True,
) -> Table:
    """The table of the ``keep`` columns. ``measuring``: the flex column capped at its ``min_width``,
    to measure the least width the table needs (Rich measures a no-wrap column by its longest
    word, not by its longest cell, so its own minimum would not do)."""
    table = Table(
        box=box.SIMPLE_HEAD if header else None,
        pad_edge=False,
        show_edge=False,
        show_header=header,
        header_style="bold",
    )
    for i in keep:
        col = columns[i]
        if col.flex:
            cap = max(col.min_width, _longest_word(rows, i)) if measuring else None
            table.add_column(col.header, justify=col.justify, overflow="fold", max_width=cap, ratio=1)
        else:
            table.add_column(col.header, justify=col.justify, no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def _longest_word(rows: Sequence[Sequence[str]], i: int) -> int:
    """The widest whitespace-free run in column ``i`` (markup removed), in terminal cells."""
    return max((cell_len(w) for row in rows for w in Text.from_markup(row[i]).plain.split()), default=0)


def fit_table(
    console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, header: bool = True
) -> Table:
    """The table with as many of ``columns`` as fit ``console.width``, each one whole (``header``
    False: a grid of label and value, for a record rather than a list)."""
    keep = list(range(len(columns)))
    order = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    wide = console.options.update(width=100_000)
    while True:
        least = Measurement.get(console, wide, _build(columns, rows, keep, measuring=True, header=header)).maximum
        if least <= console.width or not order:
            table = _build(columns, rows, keep, header=header)
            # a flex column takes the width left over; without one the table is as wide as its cells
            natural = Measurement.get(console, wide, table).maximum
            table.expand = natural > console.width
            return table
        keep.remove(order.pop()[1])


def print_table(
    console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, header: bool = True
) -> None:
    console.print(fit_table(console, columns, rows, header=header))


__all__ = ["FLEX_MIN", "Column", "fit_table", "print_table"]
