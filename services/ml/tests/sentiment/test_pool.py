"""The scoring pool: results as the model computes them, in order, and a text over the budget
refused with its worker stopped (the pool goes on scoring after it)."""

import httpx
import pytest
from portico_kit.security import TokenVerifier
from portico_kit.testing import AUDIENCE, ISSUER, TestIssuer

from app.main import build_app
from app.sentiment.pool import ScoringPool, ScoringTimeout
from app.sentiment.vader import VaderModel
from tests.sentiment.test_analyzer import emoji_text

# However fast the machine, scoring this text takes far longer than 1 ms.
COSTLY = "but " + emoji_text(5000)


async def test_scores_in_a_worker_as_the_model_does(
    scoring_pool: ScoringPool, model: VaderModel
) -> None:
    for text in ["The book was good.", COSTLY]:
        assert await scoring_pool.score(text) == model.score(text)


async def test_scores_many_texts_in_their_order(
    scoring_pool: ScoringPool, model: VaderModel
) -> None:
    texts = ["The book was good.", "Today SUX!", "Not bad at all", "😀" * 50]
    assert await scoring_pool.score_all(texts) == [model.score(text) for text in texts]


async def hasty_pool_of(model: VaderModel) -> ScoringPool:
    """A pool whose budget no real text meets, its worker started (by the calling test's task:
    anyio stops the workers when it ends)."""
    pool = ScoringPool(model, workers=1, budget_ms=1)
    await pool.start()
    return pool


async def test_stops_a_text_over_budget_and_goes_on_scoring(model: VaderModel) -> None:
    hasty_pool = await hasty_pool_of(model)
    with pytest.raises(ScoringTimeout, match="longer than 1 ms"):
        await hasty_pool.score(COSTLY)
    hasty_pool.budget_ms = 60_000
    assert await hasty_pool.score("The book was good.") == model.score("The book was good.")


async def test_answers_a_text_over_budget_with_503_and_retry_after(
    model: VaderModel, issuer: TestIssuer
) -> None:
    hasty_pool = await hasty_pool_of(model)
    verifier = TokenVerifier(issuer.key, issuer=ISSUER, audience=AUDIENCE)
    app = build_app(scoring=hasty_pool, token_verifier=verifier)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ml.test") as http:
        response = await http.post(
            "/ml/sentiment",
            json={"text": COSTLY[:5000]},
            headers={"Authorization": f"Bearer {issuer.token('user')}"},
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert (problem["status"], problem["instance"]) == (503, "/ml/sentiment")
    assert "longer than 1 ms" in problem["detail"]
