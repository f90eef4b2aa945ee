"""Slash commands: one table shared by the prompt (``/name``), the help screen and the command palette."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlashCommand:
    name: str
    summary: str
    action: str
    """Name of the App action (``action_<action>``) that runs it; it receives the text after the command."""
    usage: str = ""


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("help", "Keys and commands", "help"),
    SlashCommand("clear", "Clear the conversation and start a new session", "clear"),
    SlashCommand("tools", "Tools the agent can call, with their effect (read / write / exec)", "tools"),
    SlashCommand("model", "The bundle: mode, quantization, roles and their context", "model"),
    SlashCommand("sandbox", "Which sandbox layers are active on this machine", "sandbox"),
    SlashCommand("stats", "Tokens, speed and prompt reuse of this session", "stats"),
    SlashCommand(
        "save", "Where the session is saved (written as it goes); with FILE, also write it as JSON", "save", "[FILE]"
    ),
    SlashCommand("sessions", "List saved sessions and resume one", "sessions", "[ID]"),
    SlashCommand("quit", "Leave umi-edge chat", "quit"),
)
BY_NAME = {c.name: c for c in COMMANDS}


def parse(text: str) -> tuple[SlashCommand | None, str, str]:
    """Split ``/name rest`` into (command or None when unknown, name, rest)."""
    body = text.strip()[1:]
    name, _, rest = body.partition(" ")
    name = name.lower()
    return BY_NAME.get(name), name, rest.strip()
