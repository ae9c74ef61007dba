"""/v1/validate: the server's own rules on a post a person is editing."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from repurposeflow.entrypoints.http.deps import CallerDep, UserUowDep
from repurposeflow.entrypoints.http.routes.generations import PROBLEMS
from repurposeflow.entrypoints.http.schemas import PlatformName
from repurposeflow.services.review import review_output

router = APIRouter(prefix="/v1", tags=["generations"])


class ValidateBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "platform": "twitter",
                    "output": {
                        "thread": ["1/ One long post can feed a week of content."],
                        "tweet_count": 1,
                        "hashtags": [],
                    },
                    "generation_id": None,
                }
            ]
        },
    )

    platform: PlatformName
    output: dict[str, Any] = Field(description="The platform's output, as in a generation.")
    generation_id: uuid.UUID | None = Field(
        default=None,
        description="The generation it came from: numbers and links are then checked "
        "against its source. Without it that one rule is not applied.",
    )


class ViolationOut(BaseModel):
    code: str
    message: str


class MeasureOut(BaseModel):
    field: str = Field(description="Where the text is: `thread.0`, `post`, `subject`…")
    size: int
    limit: int
    minimum: int
    unit: str = Field(description="`chars`, or `weighted` for X (twitter-text v3).")
    ok: bool


class ValidateOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "valid": True,
                    "violations": [],
                    "measures": [
                        {
                            "field": "thread.0",
                            "size": 46,
                            "limit": 280,
                            "minimum": 0,
                            "unit": "weighted",
                            "ok": True,
                        }
                    ],
                }
            ]
        }
    )

    valid: bool
    violations: list[ViolationOut]
    measures: list[MeasureOut]


@router.post(
    "/validate",
    response_model=ValidateOut,
    responses=PROBLEMS,
    summary="Check an edited post against the platform's rules",
)
def validate_output(body: ValidateBody, caller: CallerDep, uow: UserUowDep) -> ValidateOut:
    """The limits (X counts weighted characters), the hashtag and repeat rules and your
    banned phrases, as the engines are held to. Free; nothing is stored."""
    review = review_output(
        uow, caller.clerk_user_id, body.platform, body.output, generation_id=body.generation_id
    )
    return ValidateOut(
        valid=not review.violations,
        violations=[ViolationOut(code=v.code, message=v.message) for v in review.violations],
        measures=[
            MeasureOut(
                field=m.field,
                size=m.size,
                limit=m.limit,
                minimum=m.minimum,
                unit=m.unit,
                ok=m.ok,
            )
            for m in review.measures
        ],
    )
