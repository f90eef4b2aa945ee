"""Transcripts: every run's conversation (stage-2 turns) and events, written as JSONL while it runs.

A session file ``<sessions dir>/<id>.jsonl`` holds one JSON object per line, flushed as it is written, so a crash
loses nothing: ``{"type": "session", ...}`` first, then for each run ``{"type": "run", "query"}``, each new
conversation turn ``{"type": "turn", "from", "value"}``, each event (:func:`umi_edge.agent.events.to_dict`;
streamed ``TokenDelta`` pieces are left out, the turns hold the text), and ``{"type": "end", "status", "answer"}``.
:meth:`Transcript.load` reads such a file (or a saved ``.json``) back; ``--resume`` continues its conversation.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from umi_edge import atomic, jsonl
from umi_edge.agent.events import Event, TokenDelta, from_dict, to_dict
from umi_edge.errors import UserError

SUFFIX = ".jsonl"


def sessions_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``override``, else ``$UMI_EDGE_SESSIONS``, else ``$XDG_DATA_HOME/umi-edge/sessions`` (~/.local/share)."""
    if override:
        return Path(override)
    env = os.environ.get("UMI_EDGE_SESSIONS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "umi-edge" / "sessions"


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class Transcript:
    """A session read back: its conversation turns, events (as dicts), and how the last run ended."""

    id: str
    created: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    conversation: list[dict[str, str]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    answer: str | None = None

    def typed_events(self) -> list[Event]:
        return [from_dict(e) for e in self.events]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this transcript as one JSON document (atomically)."""
        atomic.write_json(path, self.to_json())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Transcript:
        """Read a session ``.jsonl`` file or a saved ``.json`` transcript; bad files raise UserError."""
        p = Path(path)
        if not p.exists():
            raise UserError(f"{p}: no such transcript")
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".json":
            try:
                data = json.loads(text)
                return cls(**data)
            except (json.JSONDecodeError, TypeError) as exc:
                raise UserError(f"{p}: not a umi-edge transcript ({exc})") from None
        t = cls(id=p.stem)
        # A crash in the middle of the last line keeps everything before it.
        for _, rec in jsonl.records(text, p, cut_off_last=True):
            kind = rec.get("type")
            if kind == "session":
                t.id, t.created, t.meta = rec.get("id", t.id), rec.get("created", ""), rec.get("meta", {})
            elif kind == "run":
                t.queries.append(rec.get("query", ""))
            elif kind == "turn":
                t.conversation.append({"from": rec["from"], "value": rec["value"]})
            elif kind == "end":
                t.status, t.answer = rec.get("status"), rec.get("answer")
            else:
                t.events.append(rec)
        return t


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Session files, newest first."""
    d = sessions_dir(directory)
    if not d.is_dir():
        return []
    return sorted(d.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)


def find_session(ref: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The transcript that ``ref`` names: ``latest`` (or empty) for the newest, a transcript path, or a session
    id in the sessions directory. Unknown ones raise UserError."""
    if ref in ("", "latest"):
        found = list_sessions(directory)
        if not found:
            raise UserError(f"--resume: no saved sessions in {sessions_dir(directory)}")
        return found[0]
    p = Path(ref).expanduser()
    if p.suffix in (SUFFIX, ".json") and p.is_file():
        return p
    cand = sessions_dir(directory) / f"{ref}{SUFFIX}"
    if cand.is_file():
        return cand
    raise UserError(f"--resume: no session {ref!r} (not a transcript file, and not in {sessions_dir(directory)})")


class TranscriptRecorder:
    """Appends a run's records to a session file as they happen (one flushed JSON line each)."""

    def __init__(self, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = Transcript.load(self.path) if self.path.exists() and self.path.stat().st_size else None
        self.turns_written = len(existing.conversation) if existing else 0
        self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        if existing is None:
            created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self._write({"type": "session", "id": self.path.stem, "created": created, "meta": meta or {}})

    @classmethod
    def new(cls, directory: str | os.PathLike[str] | None = None, meta: dict[str, Any] | None = None):
        """A recorder on a fresh session file in ``directory`` (default :func:`sessions_dir`)."""
        return cls(sessions_dir(directory) / f"{new_session_id()}{SUFFIX}", meta)

    def _write(self, rec: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self._fh.flush()

    def start_run(self, query: str) -> None:
        self._write({"type": "run", "query": query})

    def sync_turns(self, turns: list[dict[str, str]]) -> None:
        """Write the turns of ``turns`` not written yet (the conversation only ever grows)."""
        for t in turns[self.turns_written :]:
            self._write({"type": "turn", "from": t["from"], "value": t["value"]})
        self.turns_written = max(self.turns_written, len(turns))

    def record(self, event: Event) -> None:
        if not isinstance(event, TokenDelta):
            self._write(to_dict(event))

    def end_run(self, status: str, answer: str | None) -> None:
        self._write({"type": "end", "status": status, "answer": answer})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
