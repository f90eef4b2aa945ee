"""Calculator families: percentages, multi-step arithmetic and short word problems (one calculator call)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from umi_edge.synth import entities as E
from umi_edge.synth import pools as P
from umi_edge.synth.families._common import FINISH_THOUGHTS, Family, num, offer, say
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


def _calc_task(
    rng: random.Random,
    split: Split,
    available: Sequence[str],
    family: str,
    sub: str,
    templates: list[str],
    slots: dict[str, str],
    expression: str,
    what: str,
    conclusions: list[str],
) -> Recipe:
    """A one-call calculator task; ``conclusions`` are formatted with ``slots`` plus ``r`` (the tool's result)."""
    tid, tmpl = P.template(rng, templates, split)
    query = tmpl.format(**slots)
    both = split == "train" and "python" in available and rng.random() < ALTERNATIVE_SHARE
    tools = offer(rng, ["calculator", "python"] if both else ["calculator"], available)
    thought = say(rng, CALC_THOUGHTS, what=what)
    finish_thought = rng.choice(FINISH_THOUGHTS)
    conclusion = rng.choice(conclusions)

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


def make_percent(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(["of", "of", "up", "off", "ratio"])
    fam = "calc_percent"
    if sub == "of":
        p, x = _pct(rng, split), P.integer(rng, 20, 9999, split, tag="x")
        s = {"p": fmt_num(p), "x": fmt_num(x)}
        return _calc_task(
            rng,
            split,
            available,
            fam,
            sub,
            PCT_OF,
            s,
            f"{s['x']} * {s['p']} / 100",
            f"{s['p']}% of {s['x']}",
            ["{p}% of {x} is {r}.", "The answer is {r}."],
        )
    if sub == "up":
        p, x = _pct(rng, split), P.integer(rng, 20, 9999, split, tag="x")
        s = {"p": fmt_num(p), "x": fmt_num(x)}
        return _calc_task(
            rng,
            split,
            available,
            fam,
            sub,
            PCT_UP,
            s,
            f"{s['x']} * (100 + {s['p']}) / 100",
            f"{s['x']} increased by {s['p']}%",
            ["{x} increased by {p}% is {r}.", "The new value is {r}."],
        )
    if sub == "off":
        p = _pct(rng, split)
        x = P.decimal(rng, 5, 2000, rng.choice([0, 2]), split, tag="price")
        s = {"p": fmt_num(p), "x": fmt_num(x), "item": P.choice(rng, E.ITEM, split)}
        return _calc_task(
            rng,
            split,
            available,
            fam,
            sub,
            PCT_OFF,
            s,
            f"{s['x']} * (100 - {s['p']}) / 100",
            f"{s['x']} minus {s['p']}%",
            ["After the {p}% discount the {item} costs ${r}.", "The sale price is ${r}."],
        )
    b = P.integer(rng, 20, 5000, split, tag="whole")
    a = P.integer(rng, 1, b - 1, split, tag="part")
    s = {"a": str(a), "b": str(b)}
    return _calc_task(
        rng,
        split,
        available,
        fam,
        sub,
        PCT_RATIO,
        s,
        f"{a} / {b} * 100",
        f"{a} / {b} * 100",
        ["{a} out of {b} is {r}%.", "That is {r}%."],
    )


# ---- multi-step arithmetic ---------------------------------------------------------------------------------------
ARITH = {
    "sum_mul": (
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
        "({a} + {b}) * {c}",
    ),
    "mul_sub": (
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
        "{a} * {b} - {c}",
    ),
    "avg": (
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
        "({a} + {b} + {c}) / 3",
    ),
    "div": (
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
        "{a} / {b}",
    ),
    "sqrt": (
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
        "sqrt({a})",
    ),
    "pow": (
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
        "{a} ** {k}",
    ),
}


def make_arith(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(list(ARITH))
    templates, expr = ARITH[sub]
    if sub == "sqrt":
        s = {"a": str(P.integer(rng, 2, 5000, split, tag="sqrt"))}
    elif sub == "pow":
        s = {"a": str(P.integer(rng, 2, 40, split, tag="base")), "k": str(rng.randint(2, 4))}
    elif sub == "div":
        s = {"a": str(P.integer(rng, 10, 99999, split, tag="num")), "b": str(P.integer(rng, 2, 250, split, tag="den"))}
    else:
        s = {k: str(P.integer(rng, 2, 999, split, tag=k)) for k in "abc"}
    expression = expr.format(**s)
    conclusions = [f"{expression} = {{r}}.", "The result is {r}."]
    if sub == "avg":
        conclusions = ["The average of {a}, {b} and {c} is {r}.", "The mean is {r}."]
    elif sub == "sqrt":
        conclusions = ["The square root of {a} is {r}.", "It is {r}."]
    return _calc_task(rng, split, available, "calc_arith", sub, templates, s, expression, expression, conclusions)


# ---- word problems -----------------------------------------------------------------------------------------------
WORD = {
    "shop": (
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
        "{q} * {x}",
        ["{q} {items} cost ${r} in total.", "The total is ${r}."],
    ),
    "split": (
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
        "{x} / {q}",
        ["Each person pays ${r}.", "Each share is ${r}."],
    ),
    "speed": (
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
        "{d} / {h}",
        ["The average speed is {r} km/h.", "It travels at {r} km/h on average."],
    ),
    "left": (
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
        "{x} - {a} - {b}",
        ["You have ${r} left.", "${r} is left."],
    ),
    "area": (
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
        "{w} * {l}",
        ["The area is {r} square meters.", "It is {r} m²."],
    ),
}


def make_word(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(list(WORD))
    templates, expr, conclusions = WORD[sub]
    if sub == "shop":
        s = {
            "q": str(P.integer(rng, 2, 60, split, tag="q")),
            "items": P.choice(rng, E.ITEMS, split),
            "x": fmt_num(P.decimal(rng, 0.5, 150, rng.choice([0, 2]), split, tag="unit")),
        }
    elif sub == "split":
        s = {
            "q": str(P.integer(rng, 2, 12, split, tag="people")),
            "x": fmt_num(P.decimal(rng, 20, 3000, rng.choice([0, 2]), split, tag="bill")),
        }
    elif sub == "speed":
        s = {
            "vehicle": P.choice(rng, E.VEHICLES, split),
            "d": str(P.integer(rng, 10, 900, split, tag="km")),
            "h": fmt_num(P.decimal(rng, 0.5, 12, rng.choice([0, 1]), split, tag="hours")),
        }
    elif sub == "left":
        x = P.integer(rng, 100, 5000, split, tag="budget")
        a = P.integer(rng, 1, x // 3, split, tag="spend1")
        b = P.integer(rng, 1, x // 3, split, tag="spend2")
        e1, e2 = rng.sample(E.EXPENSES, 2)
        s = {"x": str(x), "a": str(a), "b": str(b), "e1": e1, "e2": e2}
    else:
        s = {
            "w": fmt_num(P.decimal(rng, 1, 40, rng.choice([0, 1]), split, tag="w")),
            "l": fmt_num(P.decimal(rng, 1, 60, rng.choice([0, 1]), split, tag="l")),
        }
    expression = expr.format(**s)
    return _calc_task(rng, split, available, "calc_word", sub, templates, s, expression, expression, conclusions)


FAMILIES = [
    Family("calc_percent", ("calculator",), 1.2, make_percent, "percent of, increase, discount, ratio"),
    Family("calc_arith", ("calculator",), 1.0, make_arith, "multi-step expressions, mean, sqrt, powers"),
    Family("calc_word", ("calculator",), 1.0, make_word, "short word problems: totals, shares, speed, area"),
]
