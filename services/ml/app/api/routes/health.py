"""``GET /healthz`` (the process is up) and ``GET /readyz`` (every readiness check passes: 200,
else 503, the body naming each check's state), as in the TypeScript services. Not part of the
contract: they serve orchestrators, not API clients."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[None]]
"""Resolves when a dependency is usable; raises saying why not."""

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def _state(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=2)
    except Exception as error:  # any failure is a state to report, not an error of this route
        return str(error) or type(error).__name__
    return "ok"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when every check of ``app.state.readiness`` passes."""
    checks: Mapping[str, ReadinessCheck] = request.app.state.readiness
    states = dict(
        zip(checks, await asyncio.gather(*(_state(c) for c in checks.values())), strict=True)
    )
    ready = all(state == "ok" for state in states.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": states},
        status_code=200 if ready else 503,
    )
