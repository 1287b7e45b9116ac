"""``GET /ml/models`` (contracts/ml.yaml): public."""

from fastapi import APIRouter

from app.api.deps import ScoringDep
from app.api.responses import problem_responses
from app.models.generated import ModelList

router = APIRouter(tags=["models"])


@router.get(
    "/ml/models",
    operation_id="listModels",
    summary="List the sentiment models",
    response_model=ModelList,
    responses=problem_responses(400),
)
async def list_models(scoring: ScoringDep) -> ModelList:
    """The models this service scores with, their versions and languages."""
    return ModelList(items=[scoring.model.describe()])
