"""RepurposeFlow: one long piece of writing in, ready-to-post content for six platforms out."""

__version__ = "0.1.0"
