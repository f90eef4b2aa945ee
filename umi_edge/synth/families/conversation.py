"""Families without tool calls: direct answers (no tool needed) and give-ups (no offered tool can do it)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from umi_edge.synth import entities as E
from umi_edge.synth import pools as P
from umi_edge.synth.families._common import Family, offer
from umi_edge.synth.pools import Split
from umi_edge.synth.task import Finish, GiveUp, Recipe

ECHO = [
    "Reply with just the word {w}.",
    "Please say '{w}' and nothing else.",
    "Answer with the single word {w}.",
    "Repeat after me: {w}",
    "Echo this word back to me: {w}",
    "Type the word {w}.",
    "Can you just write {w}?",
    "Respond only with: {w}",
]
TOOLS_ASKED = [
    "Which tools can you use?",
    "What tools do you have?",
    "List the tools available to you.",
    "What can you call to help me?",
    "Tell me which tools you have access to.",
    "Name your tools, please.",
    "What functions are available to you right now?",
    "Which APIs can you use?",
]
GREET = [
    ("Hello!", "Hello! How can I help you today?", "help"),
    ("Hi there.", "Hi! What can I help you with?", "help"),
    ("Good morning!", "Good morning! How can I help?", "help"),
    ("Hey, are you there?", "Yes, I am here. How can I help?", "help"),
    ("Thanks, that's all.", "You're welcome!", "welcome"),
    ("Thank you for the help!", "You're welcome, glad I could help.", "welcome"),
    ("Great, thanks a lot.", "You're welcome!", "welcome"),
    ("Bye!", "Goodbye! Have a nice day.", "goodbye"),
]


def make_direct(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    """No call needed: the planner concludes at once (the offered tools are a random one plus distractors)."""
    sub = rng.choice(["echo", "echo", "tools", "greet"])
    tools = offer(rng, [rng.choice(list(available))], available)
    if sub == "echo":
        w = P.choice(rng, E.WORDS, split)
        tid, tmpl = P.template(rng, ECHO, split)
        query, thought, concl, answer = tmpl.format(w=w), "No tool is needed; I just repeat the word.", w, w
        key: tuple = ("direct", sub, tid, w)
    elif sub == "tools":
        tid, tmpl = P.template(rng, TOOLS_ASKED, split)
        query, thought = tmpl, "The tools are listed above; no call is needed."
        concl = "I can use these tools: " + ", ".join(tools) + "."
        answer = tools[0]
        key = ("direct", sub, tid, tuple(tools))
    else:
        tid = rng.randrange(len(GREET))
        query, concl, answer = GREET[tid]
        thought = "This needs no tool; I can reply directly."
        key = ("direct", sub, tid, tuple(tools))

    def solve():
        return Finish(thought, concl, answer)
        yield  # a generator that makes no call

    return Recipe("direct", f"direct/{sub}/{tid}", key, query, tools, solve, expected=answer)


GIVE_UP = [
    (
        "the live weather",
        [
            "What's the weather in {c} right now?",
            "Will it rain in {c} this afternoon?",
            "Give me the current temperature in {c}.",
            "Is it sunny in {c} today?",
        ],
    ),
    (
        "booking travel",
        [
            "Book me a flight to {c} next Friday.",
            "Reserve a hotel room in {c} for two nights.",
            "Buy a train ticket to {c}.",
            "Find and book the cheapest flight to {c}.",
        ],
    ),
    (
        "sending messages",
        [
            "Send an email to {p} saying I will be late.",
            "Text {p} that the meeting moved.",
            "Call {p} and tell them the news.",
            "Message {p} on WhatsApp.",
        ],
    ),
    (
        "live market data",
        [
            "What is the current stock price of {t}?",
            "How is {t} stock doing today?",
            "Tell me the live price of {t} shares.",
            "What did {t} close at today?",
        ],
    ),
    (
        "the internet",
        [
            "Look up the latest news about {c}.",
            "Search the web for reviews of {c} restaurants.",
            "Download the homepage of {c}'s city council.",
            "Find the opening hours of the {c} museum online.",
        ],
    ),
    (
        "devices at home",
        [
            "Turn on the lights in the {r}.",
            "Set the thermostat in the {r} to 21 degrees.",
            "Play some jazz in the {r}.",
            "Lock the {r} door.",
        ],
    ),
    (
        "shopping",
        [
            "Order a pizza to my address.",
            "Buy {n} {i} online for me.",
            "Add {i} to my Amazon cart.",
            "Order {n} {i} from the store.",
        ],
    ),
]
GIVE_UP += [
    (
        "general knowledge that no offered tool can look up",
        [
            "What is the capital of France?",
            "Who wrote Pride and Prejudice?",
            "When did the Second World War end?",
            "What is the tallest mountain in Africa?",
            "Who painted the Mona Lisa?",
            "How far is the Moon from the Earth?",
            "What language do they speak in Brazil?",
            "Who is the president of {c}'s football club?",
            "What is {c} famous for?",
            "What is the population of {c}?",
        ],
    ),
    (
        "translation, definitions or advice",
        [
            "Translate 'good morning' into Japanese.",
            "What does the word serendipity mean?",
            "Should I buy a new laptop or repair my old one?",
            "Recommend a good book about {c}.",
            "How do I say thank you in German?",
            "Write me a poem about {c}.",
            "Give me a recipe for {i} soup.",
            "Which is healthier, tea or coffee?",
        ],
    ),
]
TICKERS = ["ACME", "GLOBX", "INITECH", "UMBRL", "WAYNE", "STARK", "HOOLI", "VANDL", "MASSIVE", "SOYL"]
ROOMS = ["kitchen", "living room", "bedroom", "office", "garage", "hallway"]
GIVE_UP_THOUGHTS = [
    "None of my tools can handle {what}, and I have no internet access, so I cannot do this.",
    "This needs {what}, which none of the available tools offer. I have to give up.",
    "I cannot do this: my tools do not support {what}.",
]


def make_give_up(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    """A request no offered tool can serve: the planner gives up with a reason."""
    what, templates = rng.choice(GIVE_UP)
    tid, tmpl = P.template(rng, templates, split)
    slots = {
        "c": P.choice(rng, E.CITIES, split),
        "p": P.choice(rng, E.PEOPLE, split),
        "t": P.choice(rng, TICKERS, split),
        "r": P.choice(rng, ROOMS, split),
        "i": P.choice(rng, E.ITEMS, split),
        "n": str(rng.randint(2, 6)),
    }
    used = tuple(sorted((k, v) for k, v in slots.items() if "{" + k + "}" in tmpl))
    tools = offer(rng, [rng.choice(list(available))], available)
    thought = rng.choice(GIVE_UP_THOUGHTS).format(what=what)

    def solve():
        return GiveUp(thought)
        yield  # a generator that makes no call

    return Recipe(
        "give_up",
        f"give_up/{what}/{tid}",
        ("give_up", what, tid, used, tuple(tools)),
        tmpl.format(**slots),
        tools,
        solve,
    )


FAMILIES = [
    Family("direct", (), 0.5, make_direct, "no tool needed: echo a word, list the tools, greetings"),
    Family("give_up", (), 0.6, make_give_up, "impossible requests (weather, booking, messages, web) → give up"),
]
