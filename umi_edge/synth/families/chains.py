"""Multi-call families: a later call's argument comes from an earlier observation; and recovering from an error."""

from __future__ import annotations

import random
from collections.abc import Sequence

from umi_edge.synth import entities as E
from umi_edge.synth import pools as P
from umi_edge.synth.families._common import Family, num, offer
from umi_edge.synth.families.measures import random_date
from umi_edge.synth.families.workspace import READ_KEYS, filler_files, note_text, project_note, sql_setup
from umi_edge.synth.pools import Split, fmt_num
from umi_edge.synth.task import Call, Finish, Recipe
from umi_edge.tools.builtins.calculator import evaluate


def _field(content: str, key: str) -> str:
    return next(ln for ln in content.splitlines() if ln.startswith(key + ":")).split(":", 1)[1].strip()


FILE_CALC = {
    "yearly": (
        [
            "{path} lists my monthly rent. How much is that per year?",
            "Read the monthly rent from {path} and tell me the yearly total.",
            "What is 12 times the rent written in {path}?",
            "The rent in {path} is monthly. What does it come to over a year?",
            "How much rent do I pay in a year? The monthly amount is in {path}.",
            "Use the monthly rent from {path} to work out a full year of rent.",
            "Multiply the rent in {path} by 12.",
            "What is the annual rent, given the monthly rent in {path}?",
        ],
        "Rent",
        "{v} * 12",
        "The yearly rent is {r}.",
    ),
    "discount": (
        [
            "The price in {path} gets a {p}% discount. What is the new price?",
            "Read the price from {path} and take {p}% off.",
            "What does the item in {path} cost after {p}% off?",
            "Apply a {p}% discount to the price listed in {path}.",
            "{path} has a price. How much is it with {p}% off?",
            "Take the price in {path} and reduce it by {p}%.",
            "If the price written in {path} drops by {p}%, what is it?",
            "Give me the price from {path} after a {p} percent discount.",
        ],
        "Price",
        "{v} * (100 - {p}) / 100",
        "After the discount it costs {r}.",
    ),
    "split": (
        [
            "Split the total from {path} evenly among {q} people. How much is each share?",
            "Read the bill total in {path}; what does each of {q} friends pay?",
            "{path} has a total amount. Divide it by {q}.",
            "How much does each of {q} people owe if they share the total in {path}?",
            "Divide the total in {path} equally between {q} people.",
            "What is one of {q} equal shares of the total written in {path}?",
            "We are {q} people; the bill total is in {path}. What does each of us pay?",
            "Read the total from {path} and split it {q} ways.",
        ],
        "Total",
        "{v} / {q}",
        "Each share is {r}.",
    ),
}


def make_file_calc(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(list(FILE_CALC))
    templates, key, expr, concl = FILE_CALC[sub]
    v = P.decimal(rng, 20, 4000, rng.choice([0, 2]), split, tag=f"chain:{key}")
    path = f"{P.choice(rng, E.FOLDERS, split)}/{P.choice(rng, E.WORDS, split)}.txt"
    lines = {
        "Rent": "Landlord: {p}\nRent: {v}\n",
        "Price": "Item: {i}\nPrice: {v}\n",
        "Total": "Shop: {c}\nTotal: {v}\n",
    }
    text = lines[key].format(p=rng.choice(E.PEOPLE), i=rng.choice(E.ITEM), c=rng.choice(E.CITIES), v=fmt_num(v))
    files = {path: text, **filler_files(rng, split, rng.randint(0, 2), {path})}
    s = {"path": path, "p": fmt_num(P.integer(rng, 5, 50, split, tag="chainpct")), "q": str(rng.randint(2, 8))}
    tid, tmpl = P.template(rng, templates, split)
    low = key.lower()

    def solve():
        res = yield Call(f"First I need the {low} from {path}.", "read_file", {"path": path})
        value = _field(res.value["content"], key)
        expression = expr.format(v=value, **s)
        res = yield Call(
            f"The {low} is {value}. Now I will compute {expression}.", "calculator", {"expression": expression}
        )
        r = res.value["result"]
        return Finish(f"The result is {num(r)}.", concl.format(r=num(r)), r, "number")

    return Recipe(
        "chain_file_calc",
        f"chain_file_calc/{sub}/{tid}",
        ("chain_file_calc", sub, tid, text, s["p"], s["q"]),
        tmpl.format(**s),
        offer(
            rng,
            ["read_file", "calculator"],
            available,
        ),
        solve,
        files=files,
        expected=evaluate(expr.format(v=fmt_num(v), **s)),
    )


SQL_CALC = [
    "What is the total salary of the {d} department in staff.db after a {p}% raise?",
    "Using staff.db, sum the {d} salaries and add {p}%.",
    "If every {d} employee in staff.db gets a {p}% raise, what will the department's total salary be?",
    "Find the {d} payroll in staff.db and increase it by {p} percent.",
    "What would the {d} salaries in staff.db add up to with a {p}% raise?",
    "Total the {d} salaries from staff.db, then add {p}%.",
    "staff.db has the {d} salaries. What is their sum after a {p} percent increase?",
    "Give the {d} department's salary total from staff.db raised by {p}%.",
]


def make_sql_calc(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    db, stmts, dept, _ = sql_setup(rng, split, "avg_salary")
    sql = f"SELECT SUM(salary) FROM employees WHERE department = '{dept}'"
    p = fmt_num(P.integer(rng, 2, 15, split, tag="raise"))
    tid, tmpl = P.template(rng, SQL_CALC, split)

    def solve():
        res = yield Call(
            f"First I need the total {dept} salary from {db}.", "sqlite_query", {"database": db, "query": sql}
        )
        total = res.value["rows"][0][0]
        expression = f"{total} * (100 + {p}) / 100"
        res = yield Call(
            f"The total is {total}. Now I add {p}% with the calculator.", "calculator", {"expression": expression}
        )
        r = res.value["result"]
        return Finish(f"The result is {num(r)}.", f"After a {p}% raise the {dept} total is {num(r)}.", r, "number")

    return Recipe(
        "chain_sql_calc",
        f"chain_sql_calc/{tid}",
        ("chain_sql_calc", tid, tuple(stmts), dept, p),
        tmpl.format(d=dept, p=p),
        offer(rng, ["sqlite_query", "calculator"], available),
        solve,
        sqlite={db: stmts},
    )


FILE_DATE = [
    "On which weekday is the deadline written in {path}?",
    "Read {path} and tell me what day of the week the deadline falls on.",
    "What weekday is the deadline of project {project} ({path})?",
    "The deadline is in {path}. Which day of the week is it?",
    "Tell me the weekday of the deadline noted in {path}.",
    "Which day of the week is the {project} deadline? It is written in {path}.",
    "Look up the deadline in {path}. What weekday does it fall on?",
    "Is the deadline in {path} on a weekend? Tell me its weekday.",
]


def make_file_date(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    project = P.choice(rng, E.PROJECTS, split)
    facts = project_note(rng, split, project)
    path = f"{rng.choice(E.FOLDERS)}/{project.lower()}.txt"
    files = {path: note_text(facts), **filler_files(rng, split, rng.randint(0, 2), {path})}
    tid, tmpl = P.template(rng, FILE_DATE, split)

    def solve():
        res = yield Call(f"I need the deadline from {path} first.", "read_file", {"path": path})
        d = _field(res.value["content"], "Deadline")
        res = yield Call(
            f"The deadline is {d}. Now I need its weekday.", "date_calc", {"operation": "weekday", "date": d}
        )
        w = res.value["weekday"]
        return Finish(f"{d} is a {w}.", f"The deadline, {d}, is a {w}.", w)

    return Recipe(
        "chain_file_date",
        f"chain_file_date/{tid}",
        ("chain_file_date", tid, tuple(sorted(facts.items()))),
        tmpl.format(path=path, project=project),
        offer(rng, ["read_file", "date_calc"], available),
        solve,
        files=files,
    )


CALC_WRITE = [
    "Compute {p}% of {x} and save the result to {path}.",
    "What is {p}% of {x}? Write the answer into {path}.",
    "Calculate {p} percent of {x} and store it in the file {path}.",
    "Work out {p}% of {x}, then save the number in {path}.",
    "Find {p}% of {x} and put the result in {path}.",
    "Save {p} percent of {x} to the file {path}.",
    "Calculate {p}% of {x}; store the number in {path}.",
    "I need {p}% of {x} written to {path}.",
]


def make_calc_write(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    p = fmt_num(P.integer(rng, 2, 60, split, tag="wpct"))
    x = fmt_num(P.integer(rng, 20, 9999, split, tag="wx"))
    path = f"results/{P.choice(rng, E.WORDS, split)}.txt"
    tid, tmpl = P.template(rng, CALC_WRITE, split)
    expression = f"{x} * {p} / 100"

    def solve():
        res = yield Call(f"First I compute {p}% of {x}.", "calculator", {"expression": expression})
        r = num(res.value["result"])
        yield Call(f"The result is {r}. Now I save it to {path}.", "write_file", {"path": path, "content": r})
        return Finish(
            f"{r} is saved in {path}.", f"{p}% of {x} is {r}; I saved it to {path}.", res.value["result"], "number"
        )

    return Recipe(
        "chain_calc_write",
        f"chain_calc_write/{tid}",
        ("chain_calc_write", tid, p, x, path),
        tmpl.format(p=p, x=x, path=path),
        offer(rng, ["calculator", "write_file"], available),
        solve,
        expected=evaluate(expression),
    )


SEARCH_READ = [
    "Who owns project {project}? Its note is somewhere in my files.",
    "Find the note about project {project} and tell me its {key}.",
    "What is the {key} of project {project}? I don't remember which file it is in.",
    "Somewhere in the workspace there is a note on {project}. What {key} does it give?",
    "Search my files for project {project} and tell me the {key}.",
    "Which {key} does the {project} note give? I don't know where the note is.",
    "Find project {project} in my notes. What is its {key}?",
    "Look for the {project} note and read me the {key}.",
]


def make_search_read(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    project = P.choice(rng, E.PROJECTS, split)
    facts = project_note(rng, split, project)
    path = f"{rng.choice(E.FOLDERS)}/{P.choice(rng, E.WORDS, split)}.txt"
    files = {**filler_files(rng, split, rng.randint(1, 2), {path}), path: note_text(facts)}
    files = {k: v for k, v in files.items() if f"Project: {project}" not in v or k == path}
    tid, tmpl = P.template(rng, SEARCH_READ, split)
    key = "Owner" if tid == 0 else rng.choice(list(READ_KEYS))
    low = READ_KEYS[key]
    expected = facts[key].split()[0] if key == "Budget" else facts[key]

    def solve():
        res = yield Call(
            f"I will search the files for project {project}.", "search_files", {"query": f"Project: {project}"}
        )
        found = res.value["matches"][0]["file"]
        res = yield Call(f"The note is {found}. I will read it.", "read_file", {"path": found})
        value = _field(res.value["content"], key)
        ans = value.split()[0] if key == "Budget" else value
        return Finish(f"The {low} is {value}.", f"The {low} of {project} is {value} (from {found}).", ans)

    return Recipe(
        "chain_search_read",
        f"chain_search_read/{tid}",
        ("chain_search_read", tid, key, tuple(sorted(facts.items()))),
        tmpl.format(project=project, key=low),
        offer(rng, ["read_file", "search_files"], available),
        solve,
        files=files,
        expected=expected,
    )


SQL_UNITS = [
    "What is the highest temperature recorded in {c} in weather.db, in degrees Fahrenheit?",
    "weather.db stores temperatures in Celsius. Give me the maximum for {c} in Fahrenheit.",
    "Find the warmest reading for {c} in weather.db and convert it to Fahrenheit.",
    "In Fahrenheit, what was the top temperature in {c} according to weather.db?",
    "Using weather.db, what is {c}'s highest temperature in °F?",
    "Give the maximum temperature for {c} from weather.db, converted to Fahrenheit.",
    "How hot did it get in {c} (weather.db), in degrees Fahrenheit?",
    "Query weather.db for the warmest {c} reading and express it in Fahrenheit.",
]


def make_sql_units(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    cities = P.sample(rng, E.CITIES, 3, split)
    stmts = ["CREATE TABLE readings (city TEXT, day TEXT, temp_c REAL)"]
    for c in cities:
        for _ in range(rng.randint(2, 4)):
            t = P.decimal(rng, -15, 40, 1, split, tag="temp")
            stmts.append(f"INSERT INTO readings VALUES ('{c}', '{random_date(rng, split).isoformat()}', {t})")
    city = rng.choice(cities)
    tid, tmpl = P.template(rng, SQL_UNITS, split)
    sql = f"SELECT MAX(temp_c) FROM readings WHERE city = '{city}'"

    def solve():
        res = yield Call(
            f"First I need the highest {city} temperature from weather.db.",
            "sqlite_query",
            {"database": "weather.db", "query": sql},
        )
        t = res.value["rows"][0][0]
        res = yield Call(
            f"The maximum is {t} C. Now I convert it to Fahrenheit.",
            "convert_units",
            {"value": t, "from_unit": "C", "to_unit": "F"},
        )
        r = res.value["result"]
        return Finish(
            f"That is {num(r)} F.", f"The highest temperature in {city} was {t} °C, which is {num(r)} °F.", r, "number"
        )

    return Recipe(
        "chain_sql_units",
        f"chain_sql_units/{tid}",
        ("chain_sql_units", tid, tuple(stmts), city),
        tmpl.format(c=city),
        offer(rng, ["sqlite_query", "convert_units"], available),
        solve,
        sqlite={"weather.db": stmts},
    )


RECOVER = [
    "Read {name} and tell me the {key}.",
    "What {key} is written in {name}?",
    "Open the file {name}: what is the {key}?",
    "Check {name} for the {key} of the project.",
    "Tell me the {key} from {name}.",
    "What does {name} say the {key} is?",
    "I need the {key} that is written in {name}.",
    "Look at {name} and give me the {key}.",
]


def make_recover(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    """The user names a file without its folder: reading fails, listing the workspace finds it, reading works."""
    project = P.choice(rng, E.PROJECTS, split)
    facts = project_note(rng, split, project)
    name = f"{project.lower()}.txt"
    path = f"{P.choice(rng, E.FOLDERS, split)}/{name}"
    files = {path: note_text(facts), **filler_files(rng, split, rng.randint(1, 2), {path})}
    files = {k: v for k, v in files.items() if not k.endswith("/" + name) or k == path}
    key = rng.choice(list(READ_KEYS))
    low = READ_KEYS[key]
    tid, tmpl = P.template(rng, RECOVER, split)
    expected = facts[key].split()[0] if key == "Budget" else facts[key]

    def solve():
        yield Call(f"I will read {name}.", "read_file", {"path": name}, expect_error=True)
        res = yield Call(
            f"{name} is not at the top of the workspace. I will search every folder for {name}.",
            "list_files",
            {"recursive": True, "pattern": name},
        )
        found = res.value["entries"][0]["name"]
        res = yield Call(f"The file is {found}. I will read it.", "read_file", {"path": found})
        value = _field(res.value["content"], key)
        ans = value.split()[0] if key == "Budget" else value
        return Finish(f"The {low} is {value}.", f"The {low} in {found} is {value}.", ans)

    return Recipe(
        "recover",
        f"recover/{tid}",
        ("recover", tid, key, tuple(sorted(facts.items())), path),
        tmpl.format(name=name, key=low),
        offer(rng, ["list_files", "read_file"], available),
        solve,
        files=files,
        expected=expected,
    )


FAMILIES = [
    Family("chain_file_calc", ("read_file", "calculator"), 0.6, make_file_calc, "read a number, then compute"),
    Family("chain_sql_calc", ("sqlite_query", "calculator"), 0.4, make_sql_calc, "SQL sum, then a raise"),
    Family("chain_file_date", ("read_file", "date_calc"), 0.4, make_file_date, "read a deadline, then its weekday"),
    Family("chain_calc_write", ("calculator", "write_file"), 0.3, make_calc_write, "compute, then save to a file"),
    Family("chain_search_read", ("search_files", "read_file"), 0.4, make_search_read, "find a note, then read it"),
    Family("chain_sql_units", ("sqlite_query", "convert_units"), 0.3, make_sql_units, "SQL max, then C to F"),
    Family("recover", ("read_file", "list_files"), 0.4, make_recover, "missing path error, list, read the right one"),
]
