"""The task families of ``umi-edge data synth``; :data:`FAMILIES` lists them all, in a fixed order."""

from umi_edge.synth.families._common import Family
from umi_edge.synth.families.arithmetic import FAMILIES as _ARITHMETIC

FAMILIES: list[Family] = [*_ARITHMETIC]

__all__ = ["FAMILIES", "Family"]
