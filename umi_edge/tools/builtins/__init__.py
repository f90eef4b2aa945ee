"""The built-in tools, all offline: arithmetic, sandboxed Python, workspace files, SQLite, units and dates."""

from umi_edge.tools.builtins.calculator import calculator
from umi_edge.tools.builtins.dates import date_calc
from umi_edge.tools.builtins.files import list_files, read_file, search_files, write_file
from umi_edge.tools.builtins.python_tool import python
from umi_edge.tools.builtins.sqlite import sqlite_query
from umi_edge.tools.builtins.units import convert_units

BUILTINS = [calculator, python, list_files, read_file, write_file, search_files, sqlite_query, convert_units, date_calc]

__all__ = [
    "BUILTINS",
    "calculator",
    "convert_units",
    "date_calc",
    "list_files",
    "python",
    "read_file",
    "search_files",
    "sqlite_query",
    "write_file",
]
