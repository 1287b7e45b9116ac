"""Dependencies the routes share: the scoring pool and the Problem for a text over the scoring
budget (undeclared query parameters are refused by the kit's rule, ``portico_kit.query``)."""

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from portico_kit.problems import HttpProblem, problem_response

from app.sentiment.pool import ScoringPool, ScoringTimeout


def get_scoring(request: Request) -> ScoringPool:
    """The scoring pool started with the app."""
    scoring: ScoringPool = request.app.state.scoring
    return scoring


ScoringDep = Annotated[ScoringPool, Depends(get_scoring)]
"""A route parameter receiving the scoring pool."""

RETRY_AFTER_SECONDS = 1
"""``Retry-After`` of the 503 for a text over the scoring budget: only load makes a text that
long to score (the worst text the contract allows takes well under the budget)."""


async def _on_scoring_timeout(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScoringTimeout)
    problem = HttpProblem(
        503,
        f"Scoring the text took longer than {exc.budget_ms} ms; try again later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    return problem_response(problem, request)


def install_scoring_problems(app: FastAPI) -> None:
    """Answers a text over the scoring budget with a 503 Problem and ``Retry-After``."""
    app.add_exception_handler(ScoringTimeout, _on_scoring_timeout)
