"""RepurposeFlow's scoreboard: ``python -m benchmarks [--quick]`` (or ``repurposeflow bench``).

Every figure is measured against a baseline run on the same machine in the same run,
because this machine is shared and noisy and an absolute time means little on its own.
The table goes to stdout and every figure, with its baseline, ratio, target and
whether the target was met, to ``benchmarks/results.json``.
"""
