/**
 * Signing-key rotation at the gateway: the JWK Set is fetched once and cached; a token signed
 * with a key published later (a new `kid`) makes the gateway fetch the set once more (jose's
 * createRemoteJWKSet), however many requests carry it; a `kid` nobody publishes does not make it
 * fetch again and again.
 */
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  type FakeServices,
  type RunningGateway,
  startFakeServices,
  startGateway,
} from "../support/edge-gateway.js";

/** jose's cooldown after a fetch, during which an unknown `kid` is refused without refetching. */
const JWKS_COOLDOWN_MS = 5_000;

let services: FakeServices;
let running: RunningGateway;

beforeAll(async () => {
  services = await startFakeServices();
  running = await startGateway(services.env);
});

afterAll(async () => {
  await running?.close();
  await services?.close();
});

const createProduct = (token: string) =>
  fetch(`${running.url}/products`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Cup", price: { amount: 1299, currency: "EUR" }, stock: 1 }),
  });

describe("the gateway's JWK Set", () => {
  it("is fetched once and reused while the keys do not change", async () => {
    const token = await services.jwks.sign({ sub: "admin-1", role: "admin" }, "k1");
    for (let i = 0; i < 3; i++) expect((await createProduct(token)).status).toBe(200);
    expect(services.jwks.fetches).toBe(1);
  });

  it(
    "is fetched once more when a token names a new key, then both keys verify",
    async () => {
      const kid = await services.jwks.rotate();
      // Past the cooldown of the first fetch, as when a users instance restarts with a new key.
      await delay(JWKS_COOLDOWN_MS + 200);
      const token = await services.jwks.sign({ sub: "admin-1", role: "admin" }, kid);
      const answers = await Promise.all(Array.from({ length: 5 }, () => createProduct(token)));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
      expect(services.jwks.fetches).toBe(2);

      const old = await services.jwks.sign({ sub: "admin-1", role: "admin" }, "k1");
      expect((await createProduct(old)).status).toBe(200);
      expect(services.jwks.fetches).toBe(2);
    },
    JWKS_COOLDOWN_MS + 10_000,
  );

  it("is not fetched again and again for a key nobody publishes, and the answer says only 401", async () => {
    const token = await services.jwks.sign({ sub: "admin-1", role: "admin" }, "never-published");
    const before = services.jwks.fetches;
    for (let i = 0; i < 5; i++) {
      const response = await createProduct(token);
      expect(response.status).toBe(401);
      const problem = (await response.json()) as { detail: string };
      expect(problem.detail).toBe("A valid bearer token or API key is required.");
    }
    expect(services.jwks.fetches - before).toBeLessThanOrEqual(1);
  });
});
