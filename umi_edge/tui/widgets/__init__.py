"""Widgets of the chat screen: the conversation and its role blocks, the prompt input, the status bar."""

from umi_edge.tui.widgets.blocks import AnswerBlock, CallerBlock, NoticeBlock, ObservationBlock, PlannerBlock, UserBlock
from umi_edge.tui.widgets.conversation import Conversation
from umi_edge.tui.widgets.prompt import PromptInput
from umi_edge.tui.widgets.status import StatusBar

__all__ = [
    "AnswerBlock",
    "CallerBlock",
    "Conversation",
    "NoticeBlock",
    "ObservationBlock",
    "PlannerBlock",
    "PromptInput",
    "StatusBar",
    "UserBlock",
]
