"""Dependencies the routes share: the model, and the rule that operations take no query
parameters the contract does not declare (none of this service's operations declares any)."""

from typing import Annotated

from fastapi import Depends, Request

from app.core.problems import HttpProblem
from app.models.generated import FieldError, Location
from app.sentiment.vader import VaderModel


def get_model(request: Request) -> VaderModel:
    """The model loaded at start-up."""
    model: VaderModel = request.app.state.model
    return model


ModelDep = Annotated[VaderModel, Depends(get_model)]
"""A route parameter receiving the model."""


def reject_query_parameters(request: Request) -> None:
    """Rejects any query parameter, as the TypeScript services reject undeclared ones.

    Raises:
        HttpProblem: 400 naming each parameter.
    """
    names = sorted(set(request.query_params.keys()))
    if names:
        raise HttpProblem(
            400,
            f"Invalid request: unknown query parameter {', '.join(names)}.",
            errors=[
                FieldError(location=Location.query, field=name, message="is not allowed")
                for name in names
            ],
        )
