"""Use cases as plain functions taking a unit of work and ports; they touch nothing else."""
