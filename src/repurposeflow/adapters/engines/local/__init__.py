"""The offline engine: one module per platform around a shared writer core."""

from repurposeflow.adapters.engines.local.engine import MODEL, LocalEngine

__all__ = ["MODEL", "LocalEngine"]
