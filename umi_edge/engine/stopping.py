"""Stop strings on a token stream: emit text as soon as it cannot be the start of a stop string.

``stop`` strings end the generation and are dropped (the literal ``</s>`` that α-UMi puts after each turn);
``stop_after`` strings end it and are kept (the planner's ``Next: ...`` markers, cut right after the first one).
Hand-written: llama.cpp's stop handling lives in its server, not in the low-level API used here.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Feed decoded text pieces; get back the text that is safe to show, and whether a stop was hit."""

    def __init__(self, stop: Sequence[str] = (), stop_after: Sequence[str] = ()) -> None:
        self.stop = [s for s in stop if s]
        self.stop_after = [s for s in stop_after if s]
        self._pending = ""
        self.text = ""
        self.hit: str | None = None

    def feed(self, piece: str) -> str:
        """Add ``piece``; return newly released text (possibly empty). After a hit, ``hit`` names the stop."""
        if self.hit is not None:
            return ""
        buf = self._pending + piece
        cut: tuple[int, int, str] | None = None  # (start of the stop, end of kept text, stop)
        for strings, keep in ((self.stop, False), (self.stop_after, True)):
            for s in strings:
                i = buf.find(s)
                if i >= 0 and (cut is None or i < cut[0]):
                    cut = (i, i + len(s) if keep else i, s)
        if cut is not None:
            out = buf[: cut[1]]
            self.hit = cut[2]
            self._pending = ""
            self.text += out
            return out
        hold = 0
        for s in (*self.stop, *self.stop_after):
            for k in range(min(len(s) - 1, len(buf)), 0, -1):
                if buf.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        out = buf[: len(buf) - hold]
        self._pending = buf[len(buf) - hold :]
        self.text += out
        return out

    def flush(self) -> str:
        """Release held-back text at the end of the generation (no stop string completed)."""
        out, self._pending = self._pending, ""
        self.text += out
        return out


class RepetitionGuard:
    """Spot a degenerate loop: the last ``span`` generated tokens all repeat the token ``p`` places back, for one
    period ``p <= max_period`` (e.g. ``(1000000 * (1000000 * ...`` until the token limit). Greedy decoding of a
    small model rarely leaves such a loop, and every further token only costs time. Hand-written: llama.cpp's
    repetition penalties change the sampled tokens, which would change greedy outputs; this only stops.

    One counter per period, updated per token: O(max_period) work per token."""

    def __init__(self, span: int, max_period: int = 32) -> None:
        self.span = span
        self.max_period = max_period
        self.tokens: list[int] = []
        self.runs = [0] * (max_period + 1)

    def feed(self, token: int) -> bool:
        """Add a generated token; True when the output has been looping for ``span`` tokens."""
        self.tokens.append(token)
        if self.span <= 0:
            return False
        n = len(self.tokens)
        hit = False
        for p in range(1, min(self.max_period, n - 1) + 1):
            self.runs[p] = self.runs[p] + 1 if self.tokens[n - 1 - p] == token else 0
            hit = hit or self.runs[p] >= self.span
        return hit
