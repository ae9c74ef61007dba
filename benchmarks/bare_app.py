"""The baseline for the HTTP figures: bare FastAPI endpoints with the same paths and
payload shapes as ours, no database, no engine."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
PAGE = [{"id": str(uuid.uuid4()), "status": "completed", "platforms": ["x"]} for _ in range(20)]


class Create(BaseModel):
    content: str
    platforms: list[str] | None = None


@app.post("/v1/generations", status_code=200)
def create(body: Create) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "status": "completed", "length": len(body.content)}


@app.get("/v1/generations")
def page() -> dict[str, Any]:
    return {"items": PAGE, "next_cursor": None}
