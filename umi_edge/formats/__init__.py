"""The α-UMi text formats: one place that training, conversion, the runtime and evaluation all import.

- :mod:`.prompts`: templates (ToolBench / ToolAlpaca), role cues, ``system: `` prefix, :func:`build_input`.
- :mod:`.history`: ``{history}`` serialisation.
- :mod:`.tooldoc`: ``{doc}`` / ``{tool_names}``, tool docs from ToolBench and JSON Schema.
- :mod:`.parse`: planner and caller output parsing (and rendering, its inverse).
- :mod:`.trajectory`: stage-2 trajectories (load, validate, write).
- :mod:`.samples`: per-role training records from a trajectory.
- :mod:`.toolbench`: stage-1 ToolBench chains → trajectories.
"""

from umi_edge.formats.history import END_OF_TURN, TURN_ROLES, serialize_history, serialize_turn, stop_sequences
from umi_edge.formats.parse import (
    PLAN_LABELS,
    PLAN_MARKERS,
    Call,
    CallParseError,
    Plan,
    PlanLabel,
    parse_call,
    parse_plan,
    render_call,
    render_plan,
)
from umi_edge.formats.prompts import (
    ROLE_CUES,
    ROLES,
    STYLES,
    SYSTEM_PREFIX,
    TEMPLATES,
    build_input,
    model_prompt,
    template_parts,
)
from umi_edge.formats.samples import role_samples
from umi_edge.formats.tooldoc import from_json_schema, from_toolbench, render_doc, to_json_schema, tool_names
from umi_edge.formats.trajectory import Trajectory, load_trajectories, write_trajectories

__all__ = [
    "END_OF_TURN",
    "PLAN_LABELS",
    "PLAN_MARKERS",
    "ROLES",
    "ROLE_CUES",
    "STYLES",
    "SYSTEM_PREFIX",
    "TEMPLATES",
    "TURN_ROLES",
    "Call",
    "CallParseError",
    "Plan",
    "PlanLabel",
    "Trajectory",
    "build_input",
    "from_json_schema",
    "from_toolbench",
    "load_trajectories",
    "model_prompt",
    "parse_call",
    "parse_plan",
    "render_call",
    "render_doc",
    "render_plan",
    "role_samples",
    "serialize_history",
    "serialize_turn",
    "stop_sequences",
    "template_parts",
    "to_json_schema",
    "tool_names",
    "write_trajectories",
]
