"""GLPFT training (torch, transformers, peft, accelerate), installed as ``umi_edge.train``.

Never imported by the runtime.
"""
