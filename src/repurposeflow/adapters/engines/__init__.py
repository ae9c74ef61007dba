"""Content engines: one module per provider behind ``domain.ports.ContentEngine``."""
