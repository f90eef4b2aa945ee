"""``python``: run a snippet of Python code in the sandbox; returns its printed output, the value of its last
expression, or the error.

The function itself executes the code in-process, so it must only ever run inside the sandboxed launcher
(``sandboxed=True`` makes :meth:`ToolRegistry.call` do that); the sandbox captures what it prints.
"""

from __future__ import annotations

import ast
import sys
import traceback
from typing import Any

from umi_edge.tools.registry import tool

MAX_REPR = 4000


def run_code(code: str) -> dict[str, Any]:
    """Execute ``code`` in a fresh namespace; the last statement, when an expression, is evaluated and returned."""
    try:
        tree = ast.parse(code, filename="<code>", mode="exec")
    except SyntaxError as exc:
        return {"error": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(tree, "<code>", "exec"), namespace)  # noqa: S102 - sandboxed by design
        value = eval(compile(last, "<code>", "eval"), namespace) if last is not None else None  # noqa: S307
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from user code are results too
        sys.stdout.flush()
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<code>"]
        where = f" (line {frames[-1].lineno})" if frames else ""
        if isinstance(exc, SystemExit):
            return {"exit_code": exc.code if isinstance(exc.code, int) else 1}
        return {"error": f"{type(exc).__name__}: {exc}{where}"}
    sys.stdout.flush()
    if value is None:
        return {}
    text = repr(value)
    return {"result": text if len(text) <= MAX_REPR else text[:MAX_REPR] + "…"}


@tool(name="python", effect="exec", sandboxed=True)
def python(code: str) -> dict[str, Any]:
    """Run Python code in a sandbox (no network, files only in the workspace) and return what it printed and
    the value of its last expression.

    Args:
        code: Python source code; the value of a final expression is returned, print() output is captured.
    """
    return run_code(code)
