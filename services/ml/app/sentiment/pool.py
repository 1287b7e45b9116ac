"""Scoring off the event loop: texts are scored in worker processes (``anyio.to_process``; VADER
is pure Python and CPU-bound, so threads would hold the GIL the event loop needs), at most
``workers`` at a time, each text within a time budget. A text over budget has its worker killed
(and a fresh one started in the background) and raises ``ScoringTimeout``: however a text is
built, it cannot hold the service — HTTP requests, readiness, the NATS consumer's progress
acknowledgements — for longer than the budget.

Waiting for a free worker is not part of a text's budget: the budget bounds the work a text
causes, not the load around it (the gateway's timeout bounds the wait).

anyio stops its worker processes when the task that started the event loop ends (uvicorn's
server task: the service's life; under pytest, each test's task).
"""

import asyncio
import functools
import logging
from collections.abc import Sequence
from typing import Final, Protocol

import anyio
from anyio import CapacityLimiter, to_process

from app.models.generated import SentimentResult
from app.sentiment.vader import RawScores, VaderModel

log = logging.getLogger("ml.scoring")

WORKER_START_SECONDS: Final = 60.0
"""Longest a worker may take to start (import and load the lexicon) before it counts as failed."""


@functools.cache
def _worker_model() -> VaderModel:
    # One model per worker process, loaded by its first text (or by `_load_model`).
    return VaderModel()


def _load_model() -> str:
    return _worker_model().version


def score_in_worker(text: str) -> RawScores:
    """Runs in a worker process: the raw scores of ``text``."""
    return _worker_model().raw_scores(text)


class Scorer(Protocol):
    """What scores texts for the routes and the consumer: ``ScoringPool``."""

    async def score(self, text: str) -> SentimentResult:
        """The sentiment of ``text``."""
        ...


class ScoringTimeout(Exception):
    """A text took longer than the budget to score; its worker was stopped."""

    def __init__(self, budget_ms: int) -> None:
        self.budget_ms = budget_ms
        super().__init__(f"scoring the text took longer than {budget_ms} ms")


class ScoringPool:
    """Scores texts in ``workers`` worker processes, each text within ``budget_ms``.

    Use it from one event loop (anyio keeps its worker processes per event loop).
    """

    def __init__(self, model: VaderModel, *, workers: int, budget_ms: int) -> None:
        """``model`` turns the workers' raw scores into results (and names the model)."""
        if workers < 1 or budget_ms < 1:
            raise ValueError("workers and budget_ms must be positive")
        self.model = model
        self.workers = workers
        self.budget_ms = budget_ms
        # anyio limiters belong to a running event loop: made on first use.
        self._slots: CapacityLimiter | None = None
        self._processes: CapacityLimiter | None = None
        self._restarts: set[asyncio.Task[None]] = set()

    def _limiters(self) -> tuple[CapacityLimiter, CapacityLimiter]:
        if self._slots is None or self._processes is None:
            # `_slots` queues the callers; `_processes`, of the same size, is only anyio's own
            # bound on worker processes (never waited on: a caller holds a slot first).
            self._slots = CapacityLimiter(self.workers)
            self._processes = CapacityLimiter(self.workers)
        return self._slots, self._processes

    async def start(self) -> None:
        """Starts every worker now rather than on the first texts (each takes a few tenths of a
        second to load the lexicon).

        Raises:
            anyio.BrokenWorkerProcess: when a worker cannot start.
        """
        async with anyio.create_task_group() as group:
            for _ in range(self.workers):
                group.start_soon(self._start_one)

    async def _start_one(self) -> None:
        slots, processes = self._limiters()
        async with slots:
            with anyio.fail_after(WORKER_START_SECONDS):
                await to_process.run_sync(_load_model, cancellable=True, limiter=processes)

    def _restart_in_background(self) -> None:
        async def restart() -> None:
            try:
                await self._start_one()
            except Exception:
                log.exception("scoring worker not restarted; the next text starts one")

        task = asyncio.get_running_loop().create_task(restart(), name="restart scoring worker")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def score(self, text: str) -> SentimentResult:
        """The sentiment of ``text``, scored in a worker process.

        Raises:
            ScoringTimeout: when scoring took longer than the budget.
            anyio.BrokenWorkerProcess: when the worker died, and a fresh one too.
        """
        slots, processes = self._limiters()
        async with slots:
            try:
                with anyio.fail_after(self.budget_ms / 1000):
                    try:
                        raw = await to_process.run_sync(
                            score_in_worker, text, cancellable=True, limiter=processes
                        )
                    except anyio.BrokenWorkerProcess:
                        # The idle worker had died (killed from outside, or by anyio when the
                        # task that started it ended): once more, in a fresh worker.
                        log.warning("scoring worker gone; scoring in a new one")
                        raw = await to_process.run_sync(
                            score_in_worker, text, cancellable=True, limiter=processes
                        )
            except TimeoutError:
                log.warning(
                    "text over the scoring budget; worker stopped",
                    extra={"budgetMs": self.budget_ms, "characters": len(text)},
                )
                self._restart_in_background()
                raise ScoringTimeout(self.budget_ms) from None
        return self.model.result(raw)

    async def score_all(self, texts: Sequence[str]) -> list[SentimentResult]:
        """The sentiment of each text, in order, spread over the workers.

        Raises:
            ScoringTimeout: when any text took longer than the budget (the others are stopped).
        """
        results: list[SentimentResult | None] = [None] * len(texts)

        async def score_at(index: int) -> None:
            results[index] = await self.score(texts[index])

        try:
            async with anyio.create_task_group() as group:
                for index in range(len(texts)):
                    group.start_soon(score_at, index)
        except BaseExceptionGroup as group_error:
            # One failure cancels the rest: raise it as itself, not wrapped.
            raise group_error.exceptions[0] from None
        return [result for result in results if result is not None]
