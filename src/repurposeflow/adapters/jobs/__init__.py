"""Job runners: where a started generation does its engine work."""

from repurposeflow.adapters.jobs.threads import ThreadPoolJobRunner

__all__ = ["ThreadPoolJobRunner"]
