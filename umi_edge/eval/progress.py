"""The progress bar of long evaluations: tqdm on stderr with rate and ETA; in a log (not a terminal) a line every
30 s instead of a redraw per update, so ``2> eval.log`` can be followed with ``tail -f``."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int, unit: str, desc: str, enabled: bool = True, initial: int = 0) -> Any:
    """A tqdm bar over ``total`` items, ``initial`` of them already done (rate and ETA count only the rest)."""
    from tqdm import tqdm

    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc=desc,
        disable=not enabled,
        file=sys.stderr,
        mininterval=0.5 if tty else 30.0,
        maxinterval=30.0 if tty else 300.0,
        ascii=not tty,
    )
