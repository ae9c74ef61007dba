"""The in-memory store: the reference adapter. Plain dicts, one lock, the same errors
as the SQL store. Host applications and tests use it; it ships with the package."""

from repurposeflow.adapters.memory.store import MemoryStore, MemoryUnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork"]
