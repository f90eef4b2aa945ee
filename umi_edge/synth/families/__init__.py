"""The task families of ``umi-edge data synth``; :data:`FAMILIES` lists them all, in a fixed order."""

from umi_edge.synth.families._common import Family
from umi_edge.synth.families.arithmetic import FAMILIES as _ARITHMETIC
from umi_edge.synth.families.chains import FAMILIES as _CHAINS
from umi_edge.synth.families.code import FAMILIES as _CODE
from umi_edge.synth.families.conversation import FAMILIES as _CONVERSATION
from umi_edge.synth.families.formulas import FAMILIES as _FORMULAS
from umi_edge.synth.families.measures import FAMILIES as _MEASURES
from umi_edge.synth.families.multipart import FAMILIES as _MULTIPART
from umi_edge.synth.families.workspace import FAMILIES as _WORKSPACE

FAMILIES: list[Family] = [
    *_ARITHMETIC,
    *_MEASURES,
    *_WORKSPACE,
    *_CODE,
    *_CHAINS,
    *_CONVERSATION,
    *_FORMULAS,
    *_MULTIPART,
]

__all__ = ["FAMILIES", "Family"]
