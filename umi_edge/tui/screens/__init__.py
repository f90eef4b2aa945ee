"""Screens: the chat (main), the approval modal, help, and the session picker."""

from umi_edge.tui.screens.approval import ApprovalScreen
from umi_edge.tui.screens.chat import ChatScreen
from umi_edge.tui.screens.help import HelpScreen
from umi_edge.tui.screens.sessions import SessionsScreen

__all__ = ["ApprovalScreen", "ChatScreen", "HelpScreen", "SessionsScreen"]
