"""``python``: the tool entry for running Python code in the sandbox (the code runner is
:func:`umi_edge.tools.builtins.pyrun.run_code`, kept free of heavy imports so the sandbox starts fast)."""

from __future__ import annotations

from umi_edge.tools.builtins.pyrun import run_code
from umi_edge.tools.registry import tool

python = tool(
    run_code,
    name="python",
    effect="exec",
    sandboxed=True,
    description="Run Python code in a sandbox (no network, files only in the workspace) and return what it "
    "printed and the value of its last expression.",
    keywords="program script compute calculate count letter letters character characters word words string text "
    "reverse reversed backward backwards spell spelled sort sorted prime primes digit digits vowel vowels sequence "
    "fibonacci factorial list integer integers random palindrome occurrence occurrences appear appears position "
    "square squared sum below under smaller larger bigger even odd divisible",
)
