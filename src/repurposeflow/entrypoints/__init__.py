"""Entry points: the CLI (typer + rich) and, from [6/7], the HTTP API."""
