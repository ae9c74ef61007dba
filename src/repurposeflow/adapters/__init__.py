"""Adapters: the ports of ``repurposeflow.domain.ports`` realised against the world."""
