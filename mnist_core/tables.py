"""Tables a user downloads: rows (dicts) as CSV text, and a Keras history as rows.

``csv_text([{"epoch": 1, "loss": 0.2}])`` -> ``"epoch,loss\\r\\n1,0.2\\r\\n"``: the
columns are the keys in the order they first appear; a row without a key leaves
its cell empty. Floats keep every digit Python prints (``repr``), so a CSV read
back gives the numbers the run recorded.
"""

from __future__ import annotations

import csv
import io
from typing import Any


def csv_text(rows: list[dict[str, Any]]) -> str:
    """``rows`` as CSV with a header line (RFC 4180: comma-separated, CRLF line ends)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), restval="")
    writer.writeheader()
    writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)
    return buffer.getvalue()


def epoch_rows(history: dict[str, list[float]], **first_columns: Any) -> list[dict[str, Any]]:
    """A Keras history (``{"loss": [...], "val_accuracy": [...]}``) as one row per epoch,
    numbered from 1, after ``first_columns`` (the same in every row, e.g. ``fold=2``):
    ``[{"epoch": 1, "loss": 0.31, ...}, ...]``. A metric recorded for fewer epochs than
    the others has no cell in the later rows."""
    epochs = max((len(values) for values in history.values()), default=0)
    return [{**first_columns, "epoch": epoch + 1,
             **{metric: values[epoch] for metric, values in history.items() if epoch < len(values)}}
            for epoch in range(epochs)]
