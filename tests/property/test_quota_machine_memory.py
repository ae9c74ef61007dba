"""The quota contract on the in-memory store, with a generous example budget."""

from hypothesis import settings

from repurposeflow.adapters.memory import MemoryStore
from tests.contract.quota_machine import quota_machine

MemoryQuotaMachine = quota_machine(lambda: MemoryStore().uow())

TestMemoryQuotaMachine = MemoryQuotaMachine.TestCase
TestMemoryQuotaMachine.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
