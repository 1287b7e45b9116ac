import { describe, expect, it } from "@jest/globals";
import {
  type ApiKeyRecord,
  apiKeyPrincipalOf,
  apiKeyVerifierFrom,
  bearerPrincipalOf,
  cachedApiKeyLookup,
  securityHandlers,
  securityProblem,
} from "../../src/auth.js";
import { HttpProblem } from "../../src/problem.js";

const KEY = "psk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const RECORD: ApiKeyRecord = {
  apiKeyId: "0192f0c1-9a2b-7c3d-8e4f-5a6b7c8d9e0f",
  name: "sync",
  role: "admin",
};
const USER = { userId: "u-1", role: "user" as const, email: "ada@example.com" };

/** The HttpProblem a promise rejects with. */
async function problemOf(promise: Promise<unknown>): Promise<HttpProblem> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof HttpProblem)) throw new Error(`expected an HttpProblem, got ${err}`);
  return err;
}

/** A lookup that answers from `answers` and counts its calls. */
function countingLookup(answers: Record<string, ApiKeyRecord | Error>) {
  const calls: string[] = [];
  const lookup = async (apiKey: string) => {
    calls.push(apiKey);
    const answer = answers[apiKey] ?? null;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { calls, lookup };
}

describe("cachedApiKeyLookup", () => {
  it("answers a valid key from the cache until the TTL passes", async () => {
    let now = 1_000;
    const { calls, lookup } = countingLookup({ [KEY]: RECORD });
    const cached = cachedApiKeyLookup(lookup, { ttlMs: 5_000, now: () => now });

    expect(await cached(KEY)).toEqual(RECORD);
    now += 4_999;
    expect(await cached(KEY)).toEqual(RECORD);
    expect(calls).toHaveLength(1);
    now += 1;
    expect(await cached(KEY)).toEqual(RECORD);
    expect(calls).toHaveLength(2);
  });

  it("caches an unknown key's null too, so a flood of one bad key asks once", async () => {
    const { calls, lookup } = countingLookup({});
    const cached = cachedApiKeyLookup(lookup, { ttlMs: 5_000 });
    for (let i = 0; i < 5; i++) expect(await cached("psk_nope")).toBeNull();
    expect(calls).toHaveLength(1);
  });

  it("does not cache a failed lookup", async () => {
    const answers: Record<string, ApiKeyRecord | Error> = { [KEY]: new Error("no responders") };
    const { calls, lookup } = countingLookup(answers);
    const cached = cachedApiKeyLookup(lookup, { ttlMs: 5_000 });
    await expect(cached(KEY)).rejects.toThrow("no responders");
    answers[KEY] = RECORD;
    expect(await cached(KEY)).toEqual(RECORD);
    expect(calls).toHaveLength(2);
  });

  it("shares one lookup between concurrent requests for a key", async () => {
    const { calls, lookup } = countingLookup({ [KEY]: RECORD });
    const cached = cachedApiKeyLookup(lookup);
    const answers = await Promise.all([cached(KEY), cached(KEY), cached(KEY)]);
    expect(answers).toEqual([RECORD, RECORD, RECORD]);
    expect(calls).toHaveLength(1);
  });

  it("forgets the oldest answer beyond maxEntries", async () => {
    const { calls, lookup } = countingLookup({});
    const cached = cachedApiKeyLookup(lookup, { maxEntries: 2 });
    await cached("a");
    await cached("b");
    await cached("c");
    await cached("b");
    expect(calls).toEqual(["a", "b", "c"]);
    await cached("a");
    expect(calls).toEqual(["a", "b", "c", "a"]);
  });

  it("asks every time with a TTL of 0", async () => {
    const { calls, lookup } = countingLookup({ [KEY]: RECORD });
    const cached = cachedApiKeyLookup(lookup, { ttlMs: 0 });
    await cached(KEY);
    await cached(KEY);
    expect(calls).toHaveLength(2);
  });
});

describe("apiKeyVerifierFrom", () => {
  it("resolves a valid key to a service-account principal", async () => {
    const verify = apiKeyVerifierFrom(countingLookup({ [KEY]: RECORD }).lookup);
    expect(await verify(KEY)).toEqual({
      userId: RECORD?.apiKeyId,
      apiKeyId: RECORD?.apiKeyId,
      role: "admin",
      email: "",
    });
  });

  it("is a 401 with an ApiKey challenge for an unknown key", async () => {
    const problem = await problemOf(apiKeyVerifierFrom(countingLookup({}).lookup)(KEY));
    expect(problem.status).toBe(401);
    expect(problem.message).toBe("The API key is invalid or revoked.");
    expect(problem.headers["WWW-Authenticate"]).toMatch(/^ApiKey /);
  });

  it("refuses a key that cannot be one without asking", async () => {
    const { calls, lookup } = countingLookup({});
    const verify = apiKeyVerifierFrom(lookup);
    expect((await problemOf(verify("has space"))).status).toBe(401);
    expect((await problemOf(verify("x".repeat(300)))).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it("is a 503 with Retry-After when the lookup fails, and reports the error", async () => {
    const errors: unknown[] = [];
    const verify = apiKeyVerifierFrom(
      countingLookup({ [KEY]: new Error("no responders") }).lookup,
      (err) => errors.push(err),
    );
    const problem = await problemOf(verify(KEY));
    expect(problem.status).toBe(503);
    expect(problem.headers["Retry-After"]).toBe("1");
    expect(problem.message).not.toMatch(/responders/);
    expect(errors).toHaveLength(1);
  });
});

describe("credential checks", () => {
  it("verify each credential once per request, whoever asks", async () => {
    let verified = 0;
    const verifyToken = async () => {
      verified += 1;
      return USER;
    };
    const req = { headers: { authorization: "Bearer abc.def.ghi" } };
    await bearerPrincipalOf(req, verifyToken);
    await bearerPrincipalOf(req, verifyToken);
    expect(verified).toBe(1);
  });

  it("refuse every API key when no verifier is configured", async () => {
    const req = { headers: { "x-api-key": KEY } };
    expect((await problemOf(apiKeyPrincipalOf(req, undefined))).status).toBe(401);
  });

  it("set the principal of the passing scheme, preferring the bearer token", async () => {
    const handlers = securityHandlers({
      verifyToken: async () => ({ ...USER, role: "admin" }),
      verifyApiKey: async () => ({ userId: "k", apiKeyId: "k", role: "admin", email: "" }),
    });
    const req = { headers: { authorization: "Bearer t", "x-api-key": KEY } } as Parameters<
      typeof handlers.bearerAuth
    >[0];
    await handlers.bearerAuth(req, ["admin"]);
    await handlers.apiKeyAuth(req, ["admin"]);
    expect(req.principal?.userId).toBe("u-1");
  });
});

describe("securityProblem", () => {
  const either: Record<string, string[]>[] = [{ bearerAuth: ["admin"] }, { apiKeyAuth: ["admin"] }];
  const verifyToken = async (token: string) => {
    if (token === "user") return USER;
    throw new HttpProblem(401, "The bearer token is invalid or expired.");
  };
  const verifyApiKey = apiKeyVerifierFrom(
    countingLookup({
      [KEY]: { ...RECORD, role: "user" } as ApiKeyRecord,
      psk_down: new Error("timeout"),
    }).lookup,
  );

  /** Runs both handlers as the validator would, then derives the Problem. */
  async function problemFor(
    headers: Record<string, string>,
    requirements: Record<string, string[]>[] = either,
  ) {
    const req = { headers };
    const handlers = securityHandlers({ verifyToken, verifyApiKey });
    await Promise.allSettled(
      requirements.flatMap((r) =>
        Object.entries(r).map(([scheme, scopes]) =>
          scheme in headersOf(scheme, headers)
            ? handlers[scheme as "bearerAuth" | "apiKeyAuth"](req, scopes)
            : Promise.resolve(false),
        ),
      ),
    );
    return securityProblem(req, requirements);
  }

  /** The header a scheme reads, when present (the validator skips the handler otherwise). */
  function headersOf(scheme: string, headers: Record<string, string>): Record<string, true> {
    const name = scheme === "bearerAuth" ? "authorization" : "x-api-key";
    return headers[name] !== undefined ? { [scheme]: true } : {};
  }

  it("says both credentials would do when neither is sent", async () => {
    const problem = await problemFor({});
    expect(problem.status).toBe(401);
    expect(problem.message).toBe("A valid bearer token or API key is required.");
    expect(problem.headers["WWW-Authenticate"]).toBe(
      'Bearer realm="portico", ApiKey realm="portico", header="X-API-Key"',
    );
  });

  it("names the role when a valid token lacks it, even though the API key is missing", async () => {
    const problem = await problemFor({ authorization: "Bearer user" });
    expect(problem.status).toBe(403);
    expect(problem.message).toBe("This operation requires the role admin.");
  });

  it("names the role when a valid API key lacks it, even though the token is missing", async () => {
    const problem = await problemFor({ "x-api-key": KEY });
    expect(problem.status).toBe(403);
    expect(problem.message).toBe("This operation requires the role admin.");
  });

  it("does not tell why a credential failed", async () => {
    const problem = await problemFor({ authorization: "Bearer forged", "x-api-key": "psk_x" });
    expect(problem.status).toBe(401);
    expect(problem.message).toBe("A valid bearer token or API key is required.");
  });

  it("is a 503 when an API key could not be checked and nothing else passed", async () => {
    const problem = await problemFor({ "x-api-key": "psk_down" });
    expect(problem.status).toBe(503);
  });

  it("keeps the bearer-only wording for bearer-only operations", async () => {
    const only = [{ bearerAuth: ["admin"] }];
    expect((await problemFor({}, only)).message).toBe("A valid bearer token is required.");
    expect((await problemFor({ authorization: "Bearer forged" }, only)).message).toBe(
      "The bearer token is invalid or expired.",
    );
    expect((await problemFor({}, only)).headers["WWW-Authenticate"]).toBe('Bearer realm="portico"');
  });

  it("says an API key is needed for API-key-only operations", async () => {
    const only = [{ apiKeyAuth: [] }];
    expect((await problemFor({}, only)).message).toBe("A valid API key is required.");
    expect((await problemFor({ "x-api-key": "psk_x" }, only)).message).toBe(
      "The API key is invalid or revoked.",
    );
  });
});
