"""The ``python`` family: small computations that are easy in code and awkward for a calculator."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from umi_edge.synth import entities as E
from umi_edge.synth import pools as P
from umi_edge.synth.families._common import Family, offer, say
from umi_edge.synth.pools import Split
from umi_edge.synth.task import Call, Finish, Recipe


def _primes_below(n: int) -> int:
    return sum(1 for k in range(2, n) if all(k % d for d in range(2, int(k**0.5) + 1)))


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


# sub -> (templates, code, python value, what)
PY = {
    "sumsq": (
        [
            "What is the sum of the squares of the integers from 1 to {n}?",
            "Use Python to add up k*k for k = 1 to {n}.",
            "Compute 1² + 2² + ... + {n}².",
            "Sum the squares of all whole numbers from 1 through {n}.",
            "Add up the squares of 1, 2, 3, ... up to {n}.",
            "What do the squares of the numbers 1 to {n} sum to?",
            "Calculate the sum of k squared for k from 1 to {n}.",
            "Give me the total of all squares from 1² to {n}².",
        ],
        "print(sum(k * k for k in range(1, {n} + 1)))",
        lambda s: sum(k * k for k in range(1, int(s["n"]) + 1)),
        "the sum of squares up to {n}",
    ),
    "primes": (
        [
            "How many prime numbers are there below {n}?",
            "Use Python to count the primes smaller than {n}.",
            "Count the prime numbers less than {n}.",
            "What is the number of primes under {n}?",
            "How many primes are smaller than {n}?",
            "Count all prime numbers below {n}.",
            "Find how many prime numbers lie below {n}.",
            "What count of primes is there under {n}?",
        ],
        "print(sum(1 for k in range(2, {n}) if all(k % d for d in range(2, int(k ** 0.5) + 1))))",
        lambda s: _primes_below(int(s["n"])),
        "the number of primes below {n}",
    ),
    "fact_digits": (
        [
            "How many digits does {n}! have?",
            "Use Python to find how many digits the factorial of {n} has.",
            "Count the digits of {n} factorial.",
            "What is the number of digits in {n}!?",
            "How long is {n}! when written out in digits?",
            "How many decimal digits does the factorial of {n} have?",
            "Find the digit count of {n}!.",
            "If I write out {n} factorial, how many digits is that?",
        ],
        "import math\nprint(len(str(math.factorial({n}))))",
        lambda s: len(str(math.factorial(int(s["n"])))),
        "the digit count of {n}!",
    ),
    "fib": (
        [
            "What is the {n}th Fibonacci number?",
            "Use Python to compute Fibonacci number {n} (F(1) = 1).",
            "Give me the {n}th number of the Fibonacci sequence.",
            "Compute F({n}), the {n}th Fibonacci number.",
            "Which number is at position {n} of the Fibonacci sequence?",
            "Find Fibonacci number {n}.",
            "What is F({n}) in the Fibonacci sequence?",
            "Tell me the {n}th Fibonacci number.",
        ],
        "a, b = 0, 1\nfor _ in range({n}):\n    a, b = b, a + b\nprint(a)",
        lambda s: _fib(int(s["n"])),
        "Fibonacci number {n}",
    ),
    "reverse": (
        [
            "Reverse the string '{w}'.",
            "Use Python to write '{w}' backwards.",
            "What is '{w}' spelled backwards?",
            "Give me the text '{w}' in reverse order.",
            "Write '{w}' backwards.",
            "Reverse the characters of '{w}'.",
            "What do you get when you reverse '{w}'?",
            "Flip the string '{w}' around.",
        ],
        "print({wq}[::-1])",
        lambda s: s["w"][::-1],
        "'{w}' reversed",
    ),
    "count_char": (
        [
            "How many times does the letter '{c}' appear in '{w}'?",
            "Use Python to count the letter {c} in '{w}'.",
            "Count the occurrences of '{c}' in the text '{w}'.",
            "In '{w}', how often does '{c}' occur?",
            "Count how many '{c}' characters are in '{w}'.",
            "How many '{c}'s does '{w}' contain?",
            "What is the number of times '{c}' appears in '{w}'?",
            "Tell me how often the letter {c} shows up in '{w}'.",
        ],
        "print({wq}.count({cq}))",
        lambda s: s["w"].count(s["c"]),
        "how often '{c}' occurs in '{w}'",
    ),
}
PY_THOUGHTS = ["I will compute {what} with a short Python program.", "Python can work out {what}."]


def make_python(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    sub = rng.choice(list(PY))
    templates, code, value, what = PY[sub]
    if sub in ("reverse", "count_char"):
        words = P.sample(rng, E.WORDS, rng.randint(1, 3), split)
        w = " ".join(words)
        c = rng.choice(sorted(set(w.replace(" ", ""))))
        s = {"w": w, "c": c, "wq": repr(w), "cq": repr(c)}
    else:
        hi = {"sumsq": 500, "primes": 3000, "fact_digits": 200, "fib": 80}[sub]
        s = {"n": str(P.integer(rng, 10, hi, split, tag=f"py:{sub}"))}
    expected = value(s)
    tid, tmpl = P.template(rng, templates, split)
    thought = say(rng, PY_THOUGHTS, what=what.format(**s))
    numeric = sub != "reverse"

    def solve():
        res = yield Call(thought, "python", {"code": code.format(**s)})
        out = res.value["stdout"].strip()
        r = int(out) if numeric else out
        concl = rng.choice(["The answer is {r}.", "Python says {r}."]) if numeric else "Reversed, it reads: {r}"
        return Finish(f"The program printed {out}.", concl.format(r=out), r, "number" if numeric else "contains")

    return Recipe(
        "python",
        f"python/{sub}/{tid}",
        ("python", sub, tid, s.get("n"), s.get("w"), s.get("c")),
        tmpl.format(**s),
        offer(rng, ["python"], available),
        solve,
        expected=expected,
    )


FAMILIES = [Family("python", ("python",), 0.8, make_python, "small computations in sandboxed Python")]
