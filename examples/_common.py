"""Small helpers shared by the examples: command line, markdown tables, output files.

Not part of sklif; each example imports it from its own folder.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "results"


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``--quick`` (tiny settings, seconds) and ``--out`` (folder for tables and figures)."""
    parser = argparse.ArgumentParser(
        description=description.strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny settings that run in seconds (for tests)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"folder for the tables (.md) and figures (.png); default {DEFAULT_OUT}",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``"0.953 ± 0.012"``: the mean and (population) standard deviation of ``values``."""
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table; cells are formatted with ``str``."""
    lines = [
        "| " + " | ".join(str(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save_text(out: Path, name: str, text: str) -> Path:
    """Print ``text`` and write it to ``out / name``."""
    print(text, flush=True)
    path = out / name
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    print(f"[saved {path}]", flush=True)
    return path


def save_figure(fig, out: Path, name: str) -> Path:
    """Save a matplotlib figure as a small PNG (dpi 100).

    The examples draw on ``matplotlib.figure.Figure`` objects rather than through pyplot:
    no window, no backend to choose, nothing to close.
    """
    path = out / name
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"[saved {path}]", flush=True)
    return path


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start
