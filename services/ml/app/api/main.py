"""Every route of the service: the contract's operations, and health."""

from fastapi import APIRouter, Depends
from portico_kit.query import reject_unknown_query_parameters

from app.api.routes import health, models, sentiment

api_router = APIRouter(dependencies=[Depends(reject_unknown_query_parameters)])
api_router.include_router(sentiment.router)
api_router.include_router(models.router)

health_router = health.router
