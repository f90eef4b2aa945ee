"""Unit conversion and calendar families (``convert_units``, ``date_calc``), one call each."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from umi_edge.synth import pools as P
from umi_edge.synth.families._common import FINISH_THOUGHTS, Family, num, offer, say
from umi_edge.synth.pools import Split, fmt_num
from umi_edge.synth.task import Call, Finish, Recipe
from umi_edge.tools.builtins.dates import date_calc
from umi_edge.tools.builtins.units import convert

# (from name, from unit, to name, to unit, low, high, decimals)
CONVERSIONS = [
    ("kilometers", "km", "miles", "mi", 1, 900, 1),
    ("miles", "mi", "kilometers", "km", 1, 600, 1),
    ("kilograms", "kg", "pounds", "lb", 1, 300, 1),
    ("pounds", "lb", "kilograms", "kg", 1, 500, 0),
    ("degrees Celsius", "C", "degrees Fahrenheit", "F", -30, 45, 0),
    ("degrees Fahrenheit", "F", "degrees Celsius", "C", -10, 110, 0),
    ("meters", "m", "feet", "ft", 1, 3000, 0),
    ("feet", "ft", "meters", "m", 1, 30000, 0),
    ("liters", "l", "gallons", "gal", 1, 400, 1),
    ("gallons", "gal", "liters", "l", 1, 100, 1),
    ("centimeters", "cm", "inches", "in", 1, 300, 1),
    ("inches", "in", "centimeters", "cm", 1, 120, 1),
    ("hours", "h", "minutes", "min", 1, 72, 1),
    ("kilometers per hour", "km/h", "miles per hour", "mph", 5, 300, 0),
    ("kilocalories", "kcal", "kilojoules", "kJ", 50, 3000, 0),
    ("gigabytes", "GB", "gibibytes", "GiB", 1, 2000, 0),
    ("square meters", "m2", "square feet", "ft2", 5, 500, 0),
    ("ounces", "oz", "grams", "g", 1, 64, 1),
]
UNIT_TEMPLATES = [
    "Convert {v} {a} to {b}.",
    "How many {b} is {v} {a}?",
    "What is {v} {a} in {b}?",
    "Express {v} {a} in {b}.",
    "I have {v} {a}. How much is that in {b}?",
    "{v} {a} equals how many {b}?",
    "Please turn {v} {a} into {b}.",
    "What do {v} {a} come to in {b}?",
]
UNIT_THOUGHTS = [
    "I need to convert {v} {a} to {b}; the unit converter does that.",
    "This is a unit conversion from {a} to {b}.",
    "I will convert {v} {a} into {b} with convert_units.",
]


def make_units(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    a, ua, b, ub, lo, hi, places = rng.choice(CONVERSIONS)
    v = P.decimal(rng, lo, hi, rng.choice([0, places]), split, tag=f"units:{ua}")
    slots = {"v": fmt_num(v), "a": a, "b": b}
    tid, tmpl = P.template(rng, UNIT_TEMPLATES, split)
    thought = say(rng, UNIT_THOUGHTS, **slots)
    fin = rng.choice(FINISH_THOUGHTS)
    concl = rng.choice(["{v} {a} is {r} {b}.", "That is {r} {b}."])
    value: float | int = int(v) if float(v).is_integer() else v

    def solve():
        res = yield Call(thought, "convert_units", {"value": value, "from_unit": ua, "to_unit": ub})
        r = res.value["result"]
        return Finish(fin.format(r=num(r)), concl.format(r=num(r), **slots), r, "number")

    return Recipe(
        "units",
        f"units/{tid}",
        ("units", tid, ua, ub, slots["v"]),
        tmpl.format(**slots),
        offer(rng, ["convert_units"], available),
        solve,
        expected=convert(v, ua, ub),
    )


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def random_date(rng: random.Random, split: Split, tag: str = "date") -> dt.date:
    """A date in 2000-2035 from the split's part of that range."""
    start = dt.date(2000, 1, 1).toordinal()
    return dt.date.fromordinal(P.integer(rng, start, start + 36 * 365, split, tag=tag))


def spoken(d: dt.date, rng: random.Random) -> str:
    """The date as a query writes it: ISO most of the time, sometimes ``March 5, 2024`` or ``5 March 2024``."""
    style = rng.choice(["iso", "iso", "iso", "us", "eu"])
    if style == "us":
        return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
    if style == "eu":
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    return d.isoformat()


DATE_TEMPLATES = {
    "add": [
        "What date is {n} days after {d}?",
        "What is the date {n} days from {d}?",
        "Add {n} days to {d}.",
        "If today is {d}, what date will it be in {n} days?",
        "Which date comes {n} days after {d}?",
        "Count {n} days forward from {d}. What date is it?",
        "My trip starts on {d} and lasts {n} days. On what date does it end?",
        "Give me the date {n} days later than {d}.",
    ],
    "subtract": [
        "What date was {n} days before {d}?",
        "Subtract {n} days from {d}.",
        "Which date is {n} days earlier than {d}?",
        "What was the date {n} days before {d}?",
        "Go back {n} days from {d}. What date is that?",
        "The deadline is {d}; I must start {n} days before. What is the start date?",
        "Count {n} days back from {d}.",
        "Give me the date {n} days prior to {d}.",
    ],
    "weekday": [
        "What day of the week is {d}?",
        "Which weekday was {d}?",
        "On what day of the week does {d} fall?",
        "Is {d} a Monday, a Friday, or something else? Tell me the weekday.",
        "Tell me the weekday of {d}.",
        "What weekday is the date {d}?",
        "Which day of the week will {d} be?",
        "Find the day of the week for {d}.",
    ],
    "difference": [
        "How many days are there between {d} and {e}?",
        "Count the days from {d} to {e}.",
        "How many days lie between {d} and {e}?",
        "What is the number of days from {d} until {e}?",
        "How long is it from {d} to {e}, in days?",
        "How many days after {d} is {e}?",
        "Compute the number of days between {d} and {e}.",
        "From {d} to {e}: how many days is that?",
    ],
}
DATE_THOUGHTS = {
    # Every thought names the operation and the ISO dates, so the caller copies them instead of re-reading the query.
    "add": ["I need the date {n} days after {iso}; date_calc can add {n} days.", "I will add {n} days to {iso}."],
    "subtract": [
        "I need the date {n} days before {iso}; date_calc can subtract {n} days.",
        "I will subtract {n} days from {iso} with date_calc.",
    ],
    "weekday": ["I need the weekday of {iso}; date_calc can tell me.", "I will look up which weekday {iso} is."],
    "difference": [
        "I need the number of days from {iso} to {iso2}; date_calc can take the difference.",
        "date_calc can count the days between {iso} and {iso2} (difference).",
    ],
}


def make_dates(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(["add", "subtract", "weekday", "weekday", "difference"])
    d = random_date(rng, split)
    slots = {"d": spoken(d, rng), "iso": d.isoformat()}
    args: dict = {"operation": sub, "date": d.isoformat()}
    if sub in ("add", "subtract"):
        n = P.integer(rng, 2, 400, split, tag="days")
        slots["n"] = str(n)
        args["days"] = n
    if sub == "difference":
        e = d + dt.timedelta(days=P.integer(rng, 2, 900, split, tag="gap"))
        slots |= {"e": spoken(e, rng), "iso2": e.isoformat()}
        args["other_date"] = e.isoformat()
    tid, tmpl = P.template(rng, DATE_TEMPLATES[sub], split)
    thought = say(rng, DATE_THOUGHTS[sub], **slots)
    expected_out = date_calc(**args)

    def solve():
        res = yield Call(thought, "date_calc", args)
        out = res.value
        if sub == "weekday":
            return Finish(
                f"{slots['iso']} is a {out['weekday']}.",
                rng.choice(["{d} is a {w}.", "It is a {w}."]).format(w=out["weekday"], **slots),
                out["weekday"],
            )
        if sub == "difference":
            r = out["days"]
            return Finish(
                rng.choice(FINISH_THOUGHTS).format(r=num(r)),
                rng.choice(["There are {r} days from {d} to {e}.", "It is {r} days."]).format(r=r, **slots),
                r,
                "number",
            )
        r = out["date"]
        return Finish(
            rng.choice(FINISH_THOUGHTS).format(r=r),
            rng.choice(["The date is {r} ({w}).", "It is {r}, a {w}."]).format(r=r, w=out["weekday"]),
            r,
        )

    expected = {"weekday": expected_out.get("weekday"), "difference": expected_out.get("days")}.get(
        sub, expected_out.get("date")
    )
    return Recipe(
        "dates",
        f"dates/{sub}/{tid}",
        ("dates", sub, tid, tuple(sorted(args.items())), slots["d"]),
        tmpl.format(**slots),
        offer(rng, ["date_calc"], available),
        solve,
        expected=expected,
    )


FAMILIES = [
    Family("units", ("convert_units",), 1.0, make_units, "unit conversion (length, mass, temperature, ...)"),
    Family("dates", ("date_calc",), 1.2, make_dates, "dates: add/subtract days, weekday, days between"),
]
