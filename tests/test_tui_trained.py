"""The chat UI on a tiny model trained in the test to reproduce α-UMi trajectories (real llama.cpp, real tools):
a query shows the Planner's thought, the Caller's call, the tool's observation and the Summarizer's streamed
answer, in that order."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from edge_trained import QUERY_FINISH, build_trained_bundle

from umi_edge.agent.config import AgentConfig
from umi_edge.engine.options import EngineOptions
from umi_edge.tools.registry import builtin_registry
from umi_edge.tui.app import ChatApp
from umi_edge.tui.backend import ChatOptions
from umi_edge.tui.widgets import AnswerBlock, CallerBlock, ObservationBlock, PlannerBlock, UserBlock

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_trained_bundle(tmp_path_factory.mktemp("trained"), builtin_registry().subset(["calculator"]))


async def _wait(pilot, condition, timeout: float, what: str) -> None:  # noqa: ANN001
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def _turn(bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    options = ChatOptions(
        bundle=bundle,
        workspace=tmp_path / "ws",
        only_tools=["calculator"],
        sessions_dir=tmp_path / "sessions",
        engine=EngineOptions(threads=1),
        agent=AgentConfig(approve_policy="all", max_steps=4),
    )
    app = ChatApp(options)
    async with app.run_test(size=(110, 40)) as pilot:
        await _wait(pilot, lambda: app.backend.ready or app.backend.failure, 60, "the bundle to load")
        assert app.backend.ready, app.backend.failure
        app.chat_screen.prompt.value = QUERY_FINISH
        app.chat_screen.prompt.focus()
        await pilot.press("enter")
        await _wait(pilot, lambda: app.turn == 1, 30, "the turn to start")
        # the worker posts the turn's end last: once the screen showed it, it showed every event of the turn
        await _wait(pilot, lambda: app.chat_screen.last_ended_turn == 1, 240, "the turn to end")
        await pilot.pause()
        conv = app.chat_screen.conversation
        order = [
            type(b).__name__ for b in conv.query("UserBlock, PlannerBlock, CallerBlock, ObservationBlock, AnswerBlock")
        ]
        assert order == ["UserBlock", "PlannerBlock", "CallerBlock", "ObservationBlock", "PlannerBlock", "AnswerBlock"]
        assert [b.text for b in conv.query(UserBlock)] == [QUERY_FINISH]
        planners = list(conv.query(PlannerBlock))
        assert [p.label for p in planners] == ["call", "finish"]
        assert "6*7" in list(conv.query(CallerBlock))[0].text
        assert "42" in list(conv.query(ObservationBlock))[0].content
        assert list(conv.query(AnswerBlock))[0].text == "6 times 7 is 42."


def test_query_shows_every_role_and_the_answer(trained_bundle: Path, tmp_path: Path) -> None:
    asyncio.run(_turn(trained_bundle, tmp_path))
