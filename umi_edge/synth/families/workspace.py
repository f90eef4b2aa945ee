"""Workspace families: reading, searching and listing fixture files, and SQL on fixture sqlite databases.

Fixtures are small (a few short files, a table of 6-10 rows) so observations, and thus training samples, stay short.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from umi_edge.synth import entities as E
from umi_edge.synth import pools as P
from umi_edge.synth.families._common import FINISH_THOUGHTS, Family, num, offer, say
from umi_edge.synth.families.measures import random_date
from umi_edge.synth.pools import Split
from umi_edge.synth.task import Call, Finish, Recipe

STATUSES = ["on track", "delayed", "at risk", "finished", "paused"]


def project_note(rng: random.Random, split: Split, project: str) -> dict[str, str]:
    """The facts of a project note (key -> value, in file order)."""
    return {
        "Project": project,
        "Owner": f"{P.choice(rng, E.PEOPLE, split)} {P.choice(rng, E.SURNAMES, split)}",
        "Budget": f"{P.integer(rng, 1000, 90000, split, tag='budget')} EUR",
        "Deadline": random_date(rng, split, "deadline").isoformat(),
        "Status": rng.choice(STATUSES),
        "Room": f"{rng.choice('ABCDE')}{P.integer(rng, 100, 499, split, tag='room')}",
    }


def note_text(facts: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in facts.items())


def filler_files(rng: random.Random, split: Split, k: int, avoid: set[str]) -> dict[str, str]:
    """``k`` unrelated short files (other project notes, a shopping list, a to-do list)."""
    out: dict[str, str] = {}
    while len(out) < k:
        kind = rng.choice(["note", "todo", "list"])
        folder = rng.choice(E.FOLDERS)
        if kind == "note":
            project = P.choice(rng, E.PROJECTS, split)
            path = f"{folder}/{project.lower()}.txt"
            text = note_text(project_note(rng, split, project))
        elif kind == "todo":
            path = f"{folder}/todo.txt"
            text = "".join(f"- {rng.choice(['call', 'email', 'visit', 'pay'])} {p}\n" for p in rng.sample(E.PEOPLE, 3))
        else:
            path = f"{folder}/shopping.txt"
            text = "".join(f"{rng.randint(1, 6)} {w}\n" for w in rng.sample(E.ITEMS, 3))
        if path not in avoid and path not in out:
            out[path] = text
    return out


READ_KEYS = {"Owner": "owner", "Budget": "budget", "Deadline": "deadline", "Status": "status", "Room": "room"}
READ_TEMPLATES = [
    "What is the {key} of project {project}? See {path}.",
    "Read {path} and tell me the {key}.",
    "Open {path}: what {key} does it give?",
    "According to {path}, what is the {key} of {project}?",
    "Look in {path} and find the {key}.",
    "Which {key} is written in {path}?",
    "Check {path} for the {key} of project {project}.",
    "I need the {key} listed in {path}.",
]
READ_THOUGHTS = ["I will read {path} to find the {key}.", "The {key} should be in {path}; let me read it."]


def _fact_answer(key: str, value: str) -> str:
    return value.split()[0] if key == "Budget" else value


def make_file_read(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    project = P.choice(rng, E.PROJECTS, split)
    facts = project_note(rng, split, project)
    path = f"{rng.choice(E.FOLDERS)}/{project.lower()}.txt"
    key = rng.choice(list(READ_KEYS))
    files = {path: note_text(facts), **filler_files(rng, split, rng.randint(1, 3), {path})}
    slots = {"key": READ_KEYS[key], "project": project, "path": path}
    tid, tmpl = P.template(rng, READ_TEMPLATES, split)
    thought = say(rng, READ_THOUGHTS, **slots)
    answer = _fact_answer(key, facts[key])
    concl = rng.choice(["The {key} of {project} is {v}.", "{path} says the {key} is {v}."])

    def solve():
        res = yield Call(thought, "read_file", {"path": path})
        line = next(ln for ln in res.value["content"].splitlines() if ln.startswith(key + ":"))
        value = line.split(":", 1)[1].strip()
        return Finish(
            f"The file gives the {slots['key']}: {value}.", concl.format(v=value, **slots), _fact_answer(key, value)
        )

    return Recipe(
        "file_read",
        f"file_read/{tid}",
        ("file_read", tid, key, tuple(sorted(facts.items())), path),
        tmpl.format(**slots),
        offer(rng, ["read_file"], available),
        solve,
        files=files,
        expected=answer,
    )


SEARCH_TEMPLATES = [
    "Which file mentions {term}?",
    "Find the file that talks about {term}.",
    "In which file is {term} mentioned?",
    "Search the workspace for {term}. Which file has it?",
    "Where in my files does {term} appear?",
    "Which document contains the text {term}?",
    "Look through the files and tell me which one mentions {term}.",
    "Locate the file that refers to {term}.",
]


def make_file_search(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    kind = rng.choice(["invoice", "person", "code"])
    if kind == "invoice":
        term = f"invoice {P.integer(rng, 1000, 9999, split, tag='invoice')}"
        line = f"Paid {term} on {random_date(rng, split).isoformat()}."
    elif kind == "person":
        term = f"{P.choice(rng, E.PEOPLE, split)} {P.choice(rng, E.SURNAMES, split)}"
        line = f"Meeting with {term} about the {rng.choice(E.PRODUCTS)} order."
    else:
        term = f"ticket {rng.choice('ABCDEFGH')}-{P.integer(rng, 100, 999, split, tag='ticket')}"
        line = f"Open {term}: the {rng.choice(E.PRODUCTS)} does not start."
    path = f"{rng.choice(E.FOLDERS)}/{P.choice(rng, E.WORDS, split)}.txt"
    files = filler_files(rng, split, rng.randint(2, 3), {path})
    files[path] = f"{line}\n"
    files = dict(sorted(files.items()))
    tid, tmpl = P.template(rng, SEARCH_TEMPLATES, split)
    thought = say(rng, ["I will search the files for {t}.", "search_files can find which file mentions {t}."], t=term)

    def solve():
        res = yield Call(thought, "search_files", {"query": term})
        found = res.value["matches"][0]["file"]
        return Finish(
            f"The search found it in {found}.",
            rng.choice(["{t} is mentioned in {f}.", "The file is {f}."]).format(t=term, f=found),
            found,
        )

    return Recipe(
        "file_search",
        f"file_search/{tid}",
        ("file_search", tid, term, path),
        tmpl.format(t=term, term=term),
        offer(rng, ["search_files"], available),
        solve,
        files=files,
        expected=path,
    )


LIST_COUNT = [
    "How many files are in the {folder} folder?",
    "Count the files in {folder}.",
    "How many entries does the folder {folder} have?",
    "Tell me how many files {folder} contains.",
    "What is the number of files in {folder}?",
    "How many items are in the {folder} directory?",
    "Count what is inside {folder}.",
    "How many files sit in {folder}?",
]
LIST_FIND = [
    "What is the name of the CSV file in the {folder} folder?",
    "Which CSV file is in {folder}?",
    "Find the .csv file in the folder {folder}.",
    "There is one spreadsheet (CSV) in {folder}. What is it called?",
    "Name the CSV file stored in {folder}.",
    "Which file in {folder} ends with .csv?",
    "Tell me the CSV file's name in {folder}.",
    "Look in {folder} and give me the name of the CSV file.",
]


def make_file_list(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    folder = P.choice(rng, E.FOLDERS, split)
    names = P.sample(rng, E.WORDS, rng.randint(2, 6), split)
    sub = rng.choice(["count", "find"])
    files = {f"{folder}/{n}.txt": f"{n}\n" for n in names}
    csv = f"{folder}/{P.choice(rng, E.WORDS, split)}_{P.integer(rng, 2000, 2035, split, tag='year')}.csv"
    if sub == "find":
        files[csv] = "name,value\na,1\n"
    files |= {f"other/{w}.txt": "x\n" for w in rng.sample(E.WORDS, 2)}
    files = dict(sorted(files.items()))
    tid, tmpl = P.template(rng, LIST_COUNT if sub == "count" else LIST_FIND, split)
    thought = say(rng, ["I will list the files in {f}.", "Listing the folder {f} will show its files."], f=folder)

    def solve():
        res = yield Call(thought, "list_files", {"path": folder})
        out = res.value
        if sub == "count":
            n = out["count"]
            return Finish(
                f"The folder holds {n} entries.",
                rng.choice(["There are {n} files in {f}.", "{f} contains {n} files."]).format(n=n, f=folder),
                n,
                "number",
            )
        name = next(e["name"] for e in out["entries"] if e["name"].endswith(".csv"))
        return Finish(f"The CSV file is {name}.", f"The CSV file in {folder} is {name}.", name)

    expected = len([p for p in files if p.startswith(folder + "/")]) if sub == "count" else csv
    return Recipe(
        "file_list",
        f"file_list/{sub}/{tid}",
        ("file_list", sub, tid, tuple(files)),
        tmpl.format(folder=folder),
        offer(rng, ["list_files"], available),
        solve,
        files=files,
        expected=expected,
    )


# ---- sqlite ------------------------------------------------------------------------------------------------------
def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def shop_db(rng: random.Random, split: Split) -> tuple[list[str], list[tuple]]:
    cities = P.sample(rng, E.CITIES, 3, split)
    products = P.sample(rng, E.PRODUCTS, 3, split)
    rows = []
    for i in range(rng.randint(6, 10)):
        rows.append(
            (
                i + 1,
                rng.choice(E.PEOPLE),
                rng.choice(products),
                rng.randint(1, 9),
                P.decimal(rng, 5, 400, 2, split, tag="sqlprice"),
                rng.choice(cities),
            )
        )
    stmts = ["CREATE TABLE orders (id INTEGER, customer TEXT, product TEXT, quantity INTEGER, price REAL, city TEXT)"]
    stmts += [
        f"INSERT INTO orders VALUES ({a}, {_sql_str(b)}, {_sql_str(c)}, {d}, {e}, {_sql_str(f)})"
        for a, b, c, d, e, f in rows
    ]
    return stmts, rows


def staff_db(rng: random.Random, split: Split) -> tuple[list[str], list[tuple]]:
    depts = P.sample(rng, E.DEPARTMENTS, 3, split)
    names = P.sample(rng, E.PEOPLE, rng.randint(6, 9), split)
    rows = [
        (i + 1, n, rng.choice(depts), P.integer(rng, 28, 140, split, tag="salary") * 1000, rng.randint(2008, 2025))
        for i, n in enumerate(names)
    ]
    stmts = ["CREATE TABLE employees (id INTEGER, name TEXT, department TEXT, salary INTEGER, start_year INTEGER)"]
    stmts += [f"INSERT INTO employees VALUES ({a}, {_sql_str(b)}, {_sql_str(c)}, {d}, {e})" for a, b, c, d, e in rows]
    return stmts, rows


def library_db(rng: random.Random, split: Split) -> tuple[list[str], list[tuple]]:
    authors = P.sample(rng, E.AUTHORS, 3, split)
    titles: set[str] = set()
    while len(titles) < rng.randint(6, 9):
        titles.add(f"The {P.choice(rng, E.TITLE_WORDS, split)} {P.choice(rng, E.TITLE_NOUNS, split)}")
    rows = [
        (i + 1, t, rng.choice(authors), P.integer(rng, 1950, 2024, split, tag="pubyear"), rng.randint(90, 900))
        for i, t in enumerate(sorted(titles))
    ]
    stmts = ["CREATE TABLE books (id INTEGER, title TEXT, author TEXT, year INTEGER, pages INTEGER)"]
    stmts += [f"INSERT INTO books VALUES ({a}, {_sql_str(b)}, {_sql_str(c)}, {d}, {e})" for a, b, c, d, e in rows]
    return stmts, rows


# sub -> (db, templates, sql, which value of the rows to ask about)
SQL_TASKS = {
    "orders_city": (
        "shop.db",
        [
            "In shop.db, how many orders came from {v}?",
            "How many orders in shop.db were shipped to {v}?",
            "Count the orders from {v} in the shop database (shop.db).",
            "Using shop.db, tell me the number of orders from {v}.",
            "Query shop.db: how many orders have the city {v}?",
            "What is the number of {v} orders in shop.db?",
        ],
        "SELECT COUNT(*) FROM orders WHERE city = {q}",
    ),
    "product_qty": (
        "shop.db",
        [
            "In shop.db, how many units of {v} were ordered in total?",
            "What is the total quantity of {v} ordered, according to shop.db?",
            "Sum the quantity of all {v} orders in shop.db.",
            "How many {v} units were sold in total (shop.db)?",
            "Using shop.db, add up the ordered quantity of {v}.",
            "Total units of {v} in the orders of shop.db?",
        ],
        "SELECT SUM(quantity) FROM orders WHERE product = {q}",
    ),
    "top_earner": (
        "staff.db",
        [
            "Who earns the most in the {v} department? Use staff.db.",
            "In staff.db, which {v} employee has the highest salary?",
            "Find the best-paid person in {v} according to staff.db.",
            "Who has the top salary in {v} (staff.db)?",
            "Look up staff.db: who is the highest earner in {v}?",
            "Which employee of {v} gets the biggest salary in staff.db?",
        ],
        "SELECT name FROM employees WHERE department = {q} ORDER BY salary DESC LIMIT 1",
    ),
    "avg_salary": (
        "staff.db",
        [
            "What is the average salary in the {v} department? The data is in staff.db.",
            "In staff.db, what is the mean salary of {v}?",
            "Compute the average {v} salary from staff.db.",
            "How much does a {v} employee earn on average, according to staff.db?",
            "Query staff.db for the average salary of the {v} team.",
            "Average pay in {v} (staff.db)?",
        ],
        "SELECT AVG(salary) FROM employees WHERE department = {q}",
    ),
    "book_year": (
        "library.db",
        [
            "In which year was {v} published? Check library.db.",
            "According to library.db, when did {v} come out?",
            "What is the publication year of {v} in library.db?",
            "Look up {v} in library.db: which year was it published?",
            "library.db lists {v}. What year is it from?",
            "Find the year of {v} in the library database (library.db).",
        ],
        "SELECT year FROM books WHERE title = {q}",
    ),
    "author_count": (
        "library.db",
        [
            "How many books by {v} are in library.db?",
            "Count the books written by {v} in library.db.",
            "In library.db, how many titles does {v} have?",
            "What number of books by {v} does library.db hold?",
            "Using library.db, count {v}'s books.",
            "How many of the books in library.db are by {v}?",
        ],
        "SELECT COUNT(*) FROM books WHERE author = {q}",
    ),
}
SQL_THOUGHTS = [
    "I will query {db} for {what}.",
    "This needs an SQL query on {db}: {what}.",
    "Let me ask {db} for {what}.",
]
SQL_WHAT = {
    "orders_city": "the number of orders from {v}",
    "product_qty": "the total quantity of {v}",
    "top_earner": "the highest-paid employee in {v}",
    "avg_salary": "the average salary in {v}",
    "book_year": "the year of {v}",
    "author_count": "the number of books by {v}",
}


def sql_setup(rng: random.Random, split: Split, sub: str) -> tuple[str, list[str], str, str]:
    """``(db, statements, asked value, sql)`` for SQL task kind ``sub``."""
    db = SQL_TASKS[sub][0]
    make = {"shop.db": shop_db, "staff.db": staff_db, "library.db": library_db}[db]
    stmts, rows = make(rng, split)
    col = {"orders_city": 5, "product_qty": 2, "top_earner": 2, "avg_salary": 2, "book_year": 1, "author_count": 2}
    value = rng.choice(rows)[col[sub]]
    return db, stmts, value, SQL_TASKS[sub][2].format(q=_sql_str(value))


def make_sql(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(list(SQL_TASKS))
    db, stmts, value, sql = sql_setup(rng, split, sub)
    tid, tmpl = P.template(rng, SQL_TASKS[sub][1], split)
    thought = say(rng, SQL_THOUGHTS, db=db, what=SQL_WHAT[sub].format(v=value))
    numeric = sub != "top_earner"

    def solve():
        res = yield Call(thought, "sqlite_query", {"database": db, "query": sql})
        r = res.value["rows"][0][0]
        if isinstance(r, float):
            r = round(r, 6)
        text = num(r) if numeric else r
        concl = {
            "orders_city": "There are {r} orders from {v}.",
            "product_qty": "{r} units of {v} were ordered.",
            "top_earner": "{r} earns the most in {v}.",
            "avg_salary": "The average salary in {v} is {r}.",
            "book_year": "{v} was published in {r}.",
            "author_count": "library.db has {r} books by {v}.",
        }[sub]
        return Finish(
            rng.choice(FINISH_THOUGHTS).format(r=text),
            concl.format(r=text, v=value),
            r,
            "number" if numeric else "contains",
        )

    return Recipe(
        "sql",
        f"sql/{sub}/{tid}",
        ("sql", sub, tid, tuple(stmts), value),
        tmpl.format(v=value),
        offer(rng, ["sqlite_query"], available),
        solve,
        sqlite={db: stmts},
    )


FAMILIES = [
    Family("file_read", ("read_file",), 0.8, make_file_read, "read a fact from a named file"),
    Family("file_search", ("search_files",), 0.5, make_file_search, "which file mentions a term"),
    Family("file_list", ("list_files",), 0.5, make_file_list, "count files in a folder, find the CSV file"),
    Family("sql", ("sqlite_query",), 1.0, make_sql, "one SELECT on a fixture database (counts, sums, max, avg)"),
]
