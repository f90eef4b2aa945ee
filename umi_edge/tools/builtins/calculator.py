"""``calculator``: arithmetic by parsing the expression with :mod:`ast` and evaluating an allow-list of nodes.

Never ``eval``: names, attributes, subscripts, lambdas and comprehensions are rejected before anything runs,
and exponents, factorials and integer sizes are bounded so ``9**9**9`` cannot hang the agent.  Hand-written
because the maintained safe-eval libraries are not dependencies of the runtime.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from umi_edge.tools.registry import tool
from umi_edge.tools.result import ToolError

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _factorial(n: float) -> int:
    if n != int(n) or n < 0:
        raise ToolError("factorial needs a non-negative whole number")
    if n > 1000:
        raise ToolError("factorial argument is too large (at most 1000)")
    return math.factorial(int(n))


def _log(x: float, base: float = math.e) -> float:
    return math.log(x, base)


_FUNCS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "cbrt": lambda x: math.copysign(abs(x) ** (1 / 3), x),
    "exp": math.exp,
    "log": _log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "degrees": math.degrees,
    "radians": math.radians,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
    "factorial": _factorial,
    "gcd": math.gcd,
    "hypot": math.hypot,
}
_CONSTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_MAX_NODES = 300
_MAX_EXPONENT = 10_000
_MAX_INT_DIGITS = 1000


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ToolError(f"only numbers are allowed, got {node.value!r}")
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTS:
            return _CONSTS[node.id]
        raise ToolError(f"unknown name '{node.id}' (constants: {', '.join(_CONSTS)})")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > _MAX_EXPONENT or (abs(left) > 1 and abs(right) * math.log10(abs(left)) > _MAX_INT_DIGITS):
                raise ToolError("the power is too large to compute")
        if isinstance(node.op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
            if len(str(abs(left))) + len(str(abs(right))) > _MAX_INT_DIGITS:
                raise ToolError("the product is too large to compute")
        try:
            return _BINOPS[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ToolError(f"unknown function '{name}' (functions: {', '.join(_FUNCS)})")
        if node.keywords:
            raise ToolError("keyword arguments are not supported")
        args = [_eval(a) for a in node.args]
        try:
            return _FUNCS[node.func.id](*args)
        except (ValueError, TypeError) as exc:
            raise ToolError(f"{node.func.id}: {exc}") from None
    raise ToolError(f"unsupported syntax: {ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__}")


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression safely; raises ToolError for anything that is not arithmetic."""
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > 2000:
        raise ToolError("the expression is too long (at most 2000 characters)")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse the expression: {exc.msg}") from None
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        raise ToolError("the expression is too complex")
    try:
        value = _eval(tree)
    except OverflowError:
        raise ToolError("the result is too large") from None
    if isinstance(value, complex):
        raise ToolError("the result is not a real number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolError("the result is not a finite number")
        value = float(f"{value:.12g}")
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
    return value


@tool(
    keywords="arithmetic math calculate compute plus add sum total minus subtract difference left remain remaining "
    "times multiply product divide divided split share shared equally evenly among each per apiece average mean "
    "percent percentage discount tax tip interest increase decrease raise ratio fraction half double square squared "
    "cube root power raised exponent number price cost costs pay paid spend spent bill owe sale sold buy bought "
    "area speed distance rate"
)
def calculator(expression: str) -> dict[str, Any]:
    """Evaluate an arithmetic expression and return its numeric result.

    Supports + - * / // % ** (or ^), parentheses, the constants pi, e, tau and the functions sqrt, cbrt, exp,
    log(x[, base]), ln, log10, log2, sin, cos, tan, asin, acos, atan, atan2, degrees, radians, abs, round,
    floor, ceil, min, max, factorial, gcd, hypot.

    Args:
        expression: The arithmetic expression, for example "0.175 * 2340" or "sqrt(2) ^ 2".
    """
    return {"expression": expression, "result": evaluate(expression)}
