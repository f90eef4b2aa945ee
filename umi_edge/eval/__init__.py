"""Evaluation: the paper's static ToolBench metrics (``static``) and executable task success (``tasks``)."""
