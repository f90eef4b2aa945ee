"""User-facing errors: every bad input becomes one line naming where and what, and exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """An error caused by the user's input (a file, a field, an option).

    The CLI prints ``umi-edge: error: <message>`` on one line and exits with ``exit_code``;
    no traceback is shown.  Messages should name the file (and line / record / field) and what was expected.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def where(path: object, *, line: int | None = None, record: int | None = None, field: str | None = None) -> str:
    """Format a location prefix such as ``data.jsonl:12: field 'tools'`` for error messages."""
    out = str(path)
    if line is not None:
        out += f":{line}"
    if record is not None:
        out += f": record {record}"
    if field is not None:
        out += f": field {field!r}"
    return out
