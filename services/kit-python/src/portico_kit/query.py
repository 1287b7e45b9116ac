"""Undeclared query parameters are refused, as the TypeScript services refuse them: one rule for
every operation, whatever the parameter's name (``?__proto__[admin]=true`` included). A route
declares its query parameters as FastAPI parameters (its own or its dependencies'); any other
name is a 400 Problem naming each one."""

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from portico_kit.problems import FieldError, HttpProblem, Location


def _declared(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _declared(dependency)
    return names


def reject_unknown_query_parameters(request: Request) -> None:
    """FastAPI dependency (``APIRouter(dependencies=[Depends(...)])``): refuses the request when
    its query names a parameter the matched route does not declare.

    Raises:
        HttpProblem: 400 with one ``errors[]`` entry (location ``query``) per unknown name.
    """
    route = request.scope.get("route")
    declared = _declared(route.dependant) if isinstance(route, APIRoute) else set()
    names = sorted(set(request.query_params.keys()) - declared)
    if names:
        raise HttpProblem(
            400,
            f"Invalid request: unknown query parameter {', '.join(names)}.",
            errors=[
                FieldError(location=Location.query, field=name, message="is not allowed")
                for name in names
            ],
        )
