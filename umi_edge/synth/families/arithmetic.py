"""Calculator families: percentages, multi-step arithmetic and short word problems (one calculator call)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from umi_edge.synth import entities as E
from umi_edge.synth import pools as P
from umi_edge.synth.families._common import FINISH_THOUGHTS, Family, Maker, num, offer, say
from umi_edge.synth.pools import Split, fmt_num
from umi_edge.synth.task import Call, Finish, Recipe
from umi_edge.tools.builtins.calculator import evaluate

CALC_THOUGHTS = [
    "I need to compute {what}, so I will use the calculator.",
    "This is arithmetic: {what}. The calculator can work it out.",
    "I will ask the calculator for {what}.",
    "To answer, I must calculate {what} with the calculator.",
]


def _pct(rng: random.Random, split: Split) -> float:
    return P.decimal(rng, 1, 60, rng.choice([0, 0, 0, 1]), split, tag="pct")


Slots = dict[str, str]


@dataclass(frozen=True)
class CalcKind:
    """One kind of one-call calculator task.

    ``draw`` picks the slot values; ``expression`` (the calculator's input) and ``what`` (how the planner's thought
    names the computation, default: the expression) are formatted with them; ``conclusions`` with them plus ``r``
    (the tool's result).
    """

    templates: list[str]
    draw: Callable[[random.Random, Split], Slots]
    expression: str
    conclusions: list[str]
    what: str = ""


def _calc_task(
    rng: random.Random, split: Split, available: Sequence[str], family: str, sub: str, kind: CalcKind
) -> Recipe:
    """A one-call calculator task of ``family``'s kind ``sub``."""
    slots = kind.draw(rng, split)
    expression = kind.expression.format(**slots)
    what = kind.what.format(**slots) if kind.what else expression
    tid, tmpl = P.template(rng, kind.templates, split)
    query = tmpl.format(**slots)
    both = split == "train" and "python" in available and rng.random() < ALTERNATIVE_SHARE
    tools = offer(rng, ["calculator", "python"] if both else ["calculator"], available)
    thought = say(rng, CALC_THOUGHTS, what=what)
    finish_thought = rng.choice(FINISH_THOUGHTS)
    conclusion = rng.choice(kind.conclusions)

    def solve():
        res = yield Call(thought, "calculator", {"expression": expression})
        r = res.value["result"]
        return Finish(finish_thought.format(r=num(r)), conclusion.format(r=num(r), **slots), r, "number")

    def solve_python():
        res = yield Call(f"I will compute {what} with Python.", "python", {"code": python_code(expression)})
        out = res.value["stdout"].strip()
        return Finish(finish_thought.format(r=out), conclusion.format(r=out, **slots), float(out), "number")

    return Recipe(
        family,
        f"{family}/{sub}/{tid}",
        (family, sub, tid, tuple(sorted(slots.items()))),
        query,
        tools,
        solve,
        expected=evaluate(expression),
        alternative=solve_python if both else None,
    )


def _maker(family: str, kinds: dict[str, CalcKind], draws: Sequence[str] | None = None) -> Maker:
    """The family's task maker: a kind drawn uniformly from ``draws`` (default: each of ``kinds`` once; a kind listed
    twice is drawn twice as often)."""
    names = list(draws or kinds)

    def make(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
        sub = rng.choice(names)
        return _calc_task(rng, split, available, family, sub, kinds[sub])

    return make


ALTERNATIVE_SHARE = 0.1
"""Share of train calculator tasks that also get a Python solution (both offered; both trajectories emitted)."""


def python_code(expression: str) -> str:
    """The calculator expression as a Python program printing the value rounded to 10 decimals."""
    if "sqrt(" in expression:
        return f"import math\nprint(round({expression.replace('sqrt(', 'math.sqrt(')}, 10))"
    return f"print(round({expression}, 10))"


# ---- percentages -------------------------------------------------------------------------------------------------
PCT_OF = [
    "What is {p}% of {x}?",
    "Calculate {p} percent of {x}.",
    "How much is {p}% of {x}?",
    "Find {p}% of {x}.",
    "I need {p}% of {x}. What is it?",
    "What do you get when you take {p}% of {x}?",
    "Compute {p} percent of the number {x}.",
    "Please give me {p}% of {x}.",
]
PCT_UP = [
    "What is {x} increased by {p}%?",
    "Raise {x} by {p} percent. What is the new value?",
    "If {x} grows by {p}%, what does it become?",
    "Add {p}% to {x}.",
    "A salary of {x} goes up by {p}%. What is the new salary?",
    "What is {x} plus {p} percent?",
    "The price was {x} and rose by {p}%. What is it now?",
    "Increase {x} by {p} percent.",
]
PCT_OFF = [
    "A {item} costs ${x}. What does it cost after a {p}% discount?",
    "What is the price of a ${x} {item} with {p}% off?",
    "The {item} is ${x} and on sale at {p}% off. What is the sale price?",
    "How much is a {item} priced at ${x} after a {p} percent discount?",
    "Apply a {p}% discount to a ${x} {item}. What is the final price?",
    "I want a {item} that costs ${x}; the shop gives {p}% off. How much will I pay?",
    "Take {p}% off the ${x} price of a {item}.",
    "With a {p}% reduction, what does a ${x} {item} cost?",
]
PCT_RATIO = [
    "{a} is what percent of {b}?",
    "What percentage of {b} is {a}?",
    "Express {a} as a percentage of {b}.",
    "What percent of {b} does {a} make up?",
    "If {a} out of {b} people said yes, what percentage is that?",
    "{a} of {b} tickets are sold. What percent is that?",
    "Give {a} as a percent of {b}.",
    "How many percent is {a} out of {b}?",
]


def _p_x(rng: random.Random, split: Split) -> Slots:
    p, x = _pct(rng, split), P.integer(rng, 20, 9999, split, tag="x")
    return {"p": fmt_num(p), "x": fmt_num(x)}


def _p_price_item(rng: random.Random, split: Split) -> Slots:
    p = _pct(rng, split)
    x = P.decimal(rng, 5, 2000, rng.choice([0, 2]), split, tag="price")
    return {"p": fmt_num(p), "x": fmt_num(x), "item": P.choice(rng, E.ITEM, split)}


def _part_whole(rng: random.Random, split: Split) -> Slots:
    b = P.integer(rng, 20, 5000, split, tag="whole")
    a = P.integer(rng, 1, b - 1, split, tag="part")
    return {"a": str(a), "b": str(b)}


PERCENT: dict[str, CalcKind] = {
    "of": CalcKind(PCT_OF, _p_x, "{x} * {p} / 100", ["{p}% of {x} is {r}.", "The answer is {r}."], what="{p}% of {x}"),
    "up": CalcKind(
        PCT_UP,
        _p_x,
        "{x} * (100 + {p}) / 100",
        ["{x} increased by {p}% is {r}.", "The new value is {r}."],
        what="{x} increased by {p}%",
    ),
    "off": CalcKind(
        PCT_OFF,
        _p_price_item,
        "{x} * (100 - {p}) / 100",
        ["After the {p}% discount the {item} costs ${r}.", "The sale price is ${r}."],
        what="{x} minus {p}%",
    ),
    "ratio": CalcKind(PCT_RATIO, _part_whole, "{a} / {b} * 100", ["{a} out of {b} is {r}%.", "That is {r}%."]),
}


# ---- multi-step arithmetic ---------------------------------------------------------------------------------------
def _abc(rng: random.Random, split: Split) -> Slots:
    return {k: str(P.integer(rng, 2, 999, split, tag=k)) for k in "abc"}


def _num_den(rng: random.Random, split: Split) -> Slots:
    return {"a": str(P.integer(rng, 10, 99999, split, tag="num")), "b": str(P.integer(rng, 2, 250, split, tag="den"))}


def _radicand(rng: random.Random, split: Split) -> Slots:
    return {"a": str(P.integer(rng, 2, 5000, split, tag="sqrt"))}


def _base_power(rng: random.Random, split: Split) -> Slots:
    return {"a": str(P.integer(rng, 2, 40, split, tag="base")), "k": str(rng.randint(2, 4))}


ARITH: dict[str, CalcKind] = {
    "sum_mul": CalcKind(
        [
            "What is ({a} + {b}) * {c}?",
            "Add {a} and {b}, then multiply the sum by {c}.",
            "Compute ({a} + {b}) × {c}.",
            "Multiply the sum of {a} and {b} by {c}.",
            "Take {a} plus {b} and multiply by {c}.",
            "Calculate ({a}+{b})*{c} for me.",
            "What do I get if I add {a} to {b} and multiply the result by {c}?",
            "Evaluate ({a} + {b}) * {c}.",
        ],
        _abc,
        "({a} + {b}) * {c}",
        ["({a} + {b}) * {c} = {r}.", "The result is {r}."],
    ),
    "mul_sub": CalcKind(
        [
            "What is {a} times {b} minus {c}?",
            "Multiply {a} by {b}, then subtract {c}.",
            "Compute {a} * {b} - {c}.",
            "Take the product of {a} and {b} and subtract {c}.",
            "Calculate {a} × {b} − {c}.",
            "What is {a}*{b}-{c}?",
            "Subtract {c} from {a} multiplied by {b}.",
            "Evaluate {a} * {b} - {c}.",
        ],
        _abc,
        "{a} * {b} - {c}",
        ["{a} * {b} - {c} = {r}.", "The result is {r}."],
    ),
    "avg": CalcKind(
        [
            "What is the average of {a}, {b} and {c}?",
            "Find the mean of {a}, {b} and {c}.",
            "Compute the average of these numbers: {a}, {b}, {c}.",
            "What is the arithmetic mean of {a}, {b} and {c}?",
            "Average {a}, {b} and {c} for me.",
            "I scored {a}, {b} and {c}. What is my average score?",
            "Calculate the mean value of {a}, {b}, {c}.",
            "What's the average of the three numbers {a}, {b} and {c}?",
        ],
        _abc,
        "({a} + {b} + {c}) / 3",
        ["The average of {a}, {b} and {c} is {r}.", "The mean is {r}."],
    ),
    "div": CalcKind(
        [
            "What is {a} divided by {b}?",
            "Divide {a} by {b}.",
            "Compute {a} / {b}.",
            "How much is {a} over {b}?",
            "Calculate {a} ÷ {b}.",
            "What is the quotient of {a} and {b}?",
            "Split {a} into {b} equal parts. How big is each part?",
            "Evaluate {a} / {b}.",
        ],
        _num_den,
        "{a} / {b}",
        ["{a} / {b} = {r}.", "The result is {r}."],
    ),
    "sqrt": CalcKind(
        [
            "What is the square root of {a}?",
            "Compute the square root of {a}.",
            "Find sqrt({a}).",
            "What is √{a}?",
            "Calculate the square root of the number {a}.",
            "Give me the square root of {a}.",
            "How much is the square root of {a}?",
            "Take the square root of {a}.",
        ],
        _radicand,
        "sqrt({a})",
        ["The square root of {a} is {r}.", "It is {r}."],
    ),
    "pow": CalcKind(
        [
            "What is {a} to the power of {k}?",
            "Compute {a}^{k}.",
            "Raise {a} to the power {k}.",
            "What is {a} raised to the {k}th power?",
            "Calculate {a} ** {k}.",
            "How much is {a} to the {k}th power?",
            "Find {a}^{k}.",
            "Evaluate {a} to the power of {k}.",
        ],
        _base_power,
        "{a} ** {k}",
        ["{a} ** {k} = {r}.", "The result is {r}."],
    ),
}


# ---- word problems -----------------------------------------------------------------------------------------------
def _shop(rng: random.Random, split: Split) -> Slots:
    return {
        "q": str(P.integer(rng, 2, 60, split, tag="q")),
        "items": P.choice(rng, E.ITEMS, split),
        "x": fmt_num(P.decimal(rng, 0.5, 150, rng.choice([0, 2]), split, tag="unit")),
    }


def _bill_share(rng: random.Random, split: Split) -> Slots:
    return {
        "q": str(P.integer(rng, 2, 12, split, tag="people")),
        "x": fmt_num(P.decimal(rng, 20, 3000, rng.choice([0, 2]), split, tag="bill")),
    }


def _speed(rng: random.Random, split: Split) -> Slots:
    return {
        "vehicle": P.choice(rng, E.VEHICLES, split),
        "d": str(P.integer(rng, 10, 900, split, tag="km")),
        "h": fmt_num(P.decimal(rng, 0.5, 12, rng.choice([0, 1]), split, tag="hours")),
    }


def _left(rng: random.Random, split: Split) -> Slots:
    x = P.integer(rng, 100, 5000, split, tag="budget")
    a = P.integer(rng, 1, x // 3, split, tag="spend1")
    b = P.integer(rng, 1, x // 3, split, tag="spend2")
    e1, e2 = rng.sample(E.EXPENSES, 2)
    return {"x": str(x), "a": str(a), "b": str(b), "e1": e1, "e2": e2}


def _area(rng: random.Random, split: Split) -> Slots:
    return {
        "w": fmt_num(P.decimal(rng, 1, 40, rng.choice([0, 1]), split, tag="w")),
        "l": fmt_num(P.decimal(rng, 1, 60, rng.choice([0, 1]), split, tag="l")),
    }


WORD: dict[str, CalcKind] = {
    "shop": CalcKind(
        [
            "I buy {q} {items} at ${x} each. How much do I pay in total?",
            "What do {q} {items} cost if one costs ${x}?",
            "One of the {items} is ${x}. What is the price of {q} of them?",
            "How much are {q} {items} at ${x} apiece?",
            "We need {q} {items}; each costs ${x}. What is the total cost?",
            "Total price for {q} {items} priced at ${x} each?",
            "If {items} cost ${x} each, how much do {q} cost?",
            "Work out the cost of {q} {items} at ${x} per unit.",
        ],
        _shop,
        "{q} * {x}",
        ["{q} {items} cost ${r} in total.", "The total is ${r}."],
    ),
    "split": CalcKind(
        [
            "A dinner bill of ${x} is split equally among {q} friends. How much does each pay?",
            "{q} people share a ${x} bill evenly. What is each person's share?",
            "How much does each of {q} roommates pay if the rent of ${x} is shared equally?",
            "Divide a ${x} bill between {q} people. How much is each share?",
            "We are {q} and the total is ${x}. How much should each of us pay?",
            "Split ${x} evenly {q} ways.",
            "What is one share when ${x} is divided equally among {q} people?",
            "A group of {q} owes ${x} altogether. What does each member owe?",
        ],
        _bill_share,
        "{x} / {q}",
        ["Each person pays ${r}.", "Each share is ${r}."],
    ),
    "speed": CalcKind(
        [
            "A {vehicle} covers {d} km in {h} hours. What is its average speed in km/h?",
            "What is the average speed of a {vehicle} that travels {d} km in {h} hours?",
            "If a {vehicle} goes {d} km in {h} hours, how fast is it on average (km/h)?",
            "Compute the average speed in km/h for {d} km in {h} hours.",
            "A {vehicle} needed {h} hours for {d} km. What was its speed in km/h?",
            "{d} km in {h} hours: what average speed is that?",
            "How many km per hour is {d} km in {h} hours?",
            "Find the speed of a {vehicle} covering {d} kilometers in {h} hours.",
        ],
        _speed,
        "{d} / {h}",
        ["The average speed is {r} km/h.", "It travels at {r} km/h on average."],
    ),
    "left": CalcKind(
        [
            "I had ${x}, spent ${a} on {e1} and ${b} on {e2}. How much is left?",
            "Starting with ${x}, I paid ${a} for {e1} and ${b} for {e2}. What remains?",
            "My budget is ${x}. After ${a} for {e1} and ${b} for {e2}, how much money do I have?",
            "How much of ${x} is left after spending ${a} and ${b}?",
            "I spent ${a} on {e1} and ${b} on {e2} out of ${x}. What is left over?",
            "What remains of ${x} once ${a} and ${b} are spent?",
            "From ${x}, subtract ${a} for {e1} and ${b} for {e2}.",
            "Out of ${x}, ${a} went to {e1} and ${b} to {e2}. How much is still there?",
        ],
        _left,
        "{x} - {a} - {b}",
        ["You have ${r} left.", "${r} is left."],
    ),
    "area": CalcKind(
        [
            "A room is {w} m wide and {l} m long. What is its area in square meters?",
            "What is the area of a {w} m by {l} m garden?",
            "Compute the area of a rectangle {w} meters wide and {l} meters long.",
            "How many square meters is a {w} x {l} m floor?",
            "A field measures {w} m by {l} m. What is its area?",
            "Find the area of a {l} m long, {w} m wide terrace.",
            "What floor area does a {w} m × {l} m room have?",
            "Area of a rectangle with sides {w} m and {l} m?",
        ],
        _area,
        "{w} * {l}",
        ["The area is {r} square meters.", "It is {r} m²."],
    ),
}


FAMILIES = [
    Family(
        "calc_percent",
        ("calculator",),
        1.2,
        _maker("calc_percent", PERCENT, ["of", "of", "up", "off", "ratio"]),
        "percent of, increase, discount, ratio",
    ),
    Family(
        "calc_arith", ("calculator",), 1.0, _maker("calc_arith", ARITH), "multi-step expressions, mean, sqrt, powers"
    ),
    Family(
        "calc_word", ("calculator",), 1.0, _maker("calc_word", WORD), "short word problems: totals, shares, speed, area"
    ),
]
