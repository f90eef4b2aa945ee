"""Synthetic α-UMi trajectories from task families, with observations from really running the built-in tools.

Public API: :func:`umi_edge.synth.generate.synthesize` (``n`` executed :class:`~umi_edge.synth.runner.Episode`
objects of a split), :func:`~umi_edge.synth.generate.trajectory_record` / :meth:`~umi_edge.synth.runner.Episode.task`
(stage-2 record / executable :class:`umi_edge.formats.taskfile.Task`), :func:`umi_edge.formats.taskfile.write_fixture`
(build a task's fixture workspace), and :data:`umi_edge.synth.families.FAMILIES`. The CLI is ``umi-edge data synth``
(:mod:`umi_edge.synth.command`).
"""
