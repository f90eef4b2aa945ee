"""The ``python`` tool's code runner: execute a snippet, return the last expression's value or the error.

It executes the code in-process, so it must only ever run inside the sandboxed launcher (the ``python`` tool is
``sandboxed=True``); what the code prints goes to the process's stdout, which the sandbox captures.
Only light standard-library imports here: the launcher imports this module on every call.
"""

from __future__ import annotations

import ast
import sys
import traceback
from typing import Any

MAX_REPR = 4000


def run_code(code: str) -> dict[str, Any]:
    """Run Python code and return the value of its last expression.

    Args:
        code: Python source code; print() output is captured and the value of a final expression is returned.
    """
    try:
        tree = ast.parse(code, filename="<code>", mode="exec")
    except SyntaxError as exc:
        return {"error": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    last = None
    if tree.body and isinstance(tail := tree.body[-1], ast.Expr):
        tree.body.pop()
        last = ast.Expression(tail.value)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(tree, "<code>", "exec"), namespace)  # noqa: S102 - sandboxed by design
        value = eval(compile(last, "<code>", "eval"), namespace) if last is not None else None  # noqa: S307
    except SystemExit as exc:
        sys.stdout.flush()
        return {"exit_code": exc.code if isinstance(exc.code, int) else 1}
    except BaseException as exc:  # KeyboardInterrupt, MemoryError... from user code are results too
        sys.stdout.flush()
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<code>"]
        where = f" (line {frames[-1].lineno})" if frames else ""
        detail = str(exc) or {"MemoryError": "the memory limit was reached"}.get(type(exc).__name__, "")
        return {"error": f"{type(exc).__name__}: {detail}{where}".replace(": (", " (")}
    sys.stdout.flush()
    if value is None:
        return {}
    text = repr(value)
    return {"result": text if len(text) <= MAX_REPR else text[:MAX_REPR] + "…"}
