"""``POST /ml/sentiment`` and ``POST /ml/sentiment:batch`` (contracts/ml.yaml)."""

from typing import Annotated

from fastapi import APIRouter
from portico_kit.security import Principal, requirement_of

from app.api.deps import ScoringDep
from app.api.responses import problem_responses
from app.core.contract import ml_contract
from app.models.generated import (
    SentimentBatchRequest,
    SentimentBatchResult,
    SentimentRequest,
    SentimentResult,
)

router = APIRouter(tags=["sentiment"])


@router.post(
    "/ml/sentiment",
    operation_id="analyzeSentiment",
    summary="Score the sentiment of a text",
    response_model=SentimentResult,
    responses=problem_responses(400, 401, 503),
)
async def analyze_sentiment(
    body: SentimentRequest,
    scoring: ScoringDep,
    _caller: Annotated[Principal, requirement_of("analyzeSentiment", ml_contract())],
) -> SentimentResult:
    """Any signed-in user. The same text always gets the same scores."""
    return await scoring.score(body.text)


@router.post(
    "/ml/sentiment:batch",
    operation_id="analyzeSentimentBatch",
    summary="Score the sentiment of up to 100 texts",
    response_model=SentimentBatchResult,
    responses=problem_responses(400, 401, 403, 503),
)
async def analyze_sentiment_batch(
    body: SentimentBatchRequest,
    scoring: ScoringDep,
    _caller: Annotated[Principal, requirement_of("analyzeSentimentBatch", ml_contract())],
) -> SentimentBatchResult:
    """Administrators only. One result per item, in the request's order."""
    return SentimentBatchResult(results=await scoring.score_all([i.text for i in body.items]))
