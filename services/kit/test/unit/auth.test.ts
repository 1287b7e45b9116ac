import { beforeAll, describe, expect, it } from "@jest/globals";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import {
  authenticate,
  bearerToken,
  createTokenVerifier,
  type TokenVerifier,
} from "../../src/auth.js";
import { HttpProblem } from "../../src/problem.js";

const ISSUER = "portico";
const AUDIENCE = "portico-api";
const USER_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

let signingKey: PrivateKey;
let otherKey: PrivateKey;
let jwks: JWTVerifyGetKey;
let verify: TokenVerifier;

/** Signs an ES256 token with kid `k1`; the claims default to a valid user token. */
function sign(
  claims: JWTPayload = { role: "user", email: "ada@example.com" },
  options: { key?: PrivateKey; issuer?: string; audience?: string; exp?: string | number } = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? "5m");
  if (claims.sub === undefined) jwt.setSubject(USER_ID);
  return jwt.sign(options.key ?? signingKey);
}

/** The HttpProblem a promise rejects with. */
async function problemOf(promise: Promise<unknown>): Promise<HttpProblem> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof HttpProblem)) throw new Error(`expected an HttpProblem, got ${err}`);
  return err;
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair("ES256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  jwks = createLocalJWKSet({ keys: [jwk] });
  verify = createTokenVerifier({ jwks, issuer: ISSUER, audience: AUDIENCE });
});

describe("bearerToken (RFC 6750 section 2.1)", () => {
  it.each([
    ["Bearer abc.def.ghi", "abc.def.ghi"],
    ["bearer abc.def.ghi", "abc.def.ghi"],
    ["BEARER   abc", "abc"],
    ["Bearer a-b_c.d~e+f/g==", "a-b_c.d~e+f/g=="],
  ])("reads %j as %j", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["another scheme", "Basic YWRhOnB3"],
    ["a scheme without a token", "Bearer "],
    ["a token with a space", "Bearer abc def"],
    ["a token with characters outside b64token", "Bearer abc,def"],
    ["padding in the middle", "Bearer ab=c"],
    ["a tab as separator", "Bearer\tabc"],
    ["the token alone", "abc.def.ghi"],
  ])("finds no token in %s", (_case, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe("createTokenVerifier", () => {
  it("resolves a valid token to its principal", async () => {
    await expect(verify(await sign())).resolves.toEqual({
      userId: USER_ID,
      role: "user",
      email: "ada@example.com",
    });
  });

  it.each([
    ["an expired token", () => sign(undefined, { exp: Math.floor(Date.now() / 1000) - 60 })],
    ["a token from another issuer", () => sign(undefined, { issuer: "evil" })],
    ["a token for another audience", () => sign(undefined, { audience: "other-api" })],
    ["a token signed with another key", () => sign(undefined, { key: otherKey })],
    ["a token without a role", () => sign({ email: "ada@example.com" })],
    ["a token with an unknown role", () => sign({ role: "root" })],
    ["a token that is not a JWT", async () => "not.a.jwt"],
  ])("rejects %s with a 401 that does not say why", async (_case, token) => {
    const problem = await problemOf(verify(await token()));
    expect(problem.status).toBe(401);
    expect(problem.message).toBe("The bearer token is invalid or expired.");
    expect(problem.headers["WWW-Authenticate"]).toMatch(/^Bearer /);
  });
});

describe("authenticate", () => {
  it("is a 401 with the Bearer challenge without a token", async () => {
    const problem = await problemOf(authenticate(verify, undefined, []));
    expect(problem.status).toBe(401);
    expect(problem.headers).toEqual({ "WWW-Authenticate": 'Bearer realm="portico"' });
  });

  it("is a 401 for a malformed Authorization header", async () => {
    const token = await sign();
    expect((await problemOf(authenticate(verify, `Token ${token}`, []))).status).toBe(401);
  });

  it("is a 401 for a token that fails verification", async () => {
    const token = await sign(undefined, { key: otherKey });
    expect((await problemOf(authenticate(verify, `Bearer ${token}`, []))).status).toBe(401);
  });

  it("is a 403 naming the required role when the token's role is not listed", async () => {
    const problem = await problemOf(authenticate(verify, `Bearer ${await sign()}`, ["admin"]));
    expect(problem.status).toBe(403);
    expect(problem.message).toBe("This operation requires the role admin.");
  });

  it("resolves to the principal when the role is listed", async () => {
    const token = await sign({ role: "admin", email: "root@example.com" });
    await expect(authenticate(verify, `Bearer ${token}`, ["user", "admin"])).resolves.toEqual({
      userId: USER_ID,
      role: "admin",
      email: "root@example.com",
    });
  });

  it("lets any signed-in user through when no role is required", async () => {
    const principal = await authenticate(verify, `Bearer ${await sign()}`, []);
    expect(principal.role).toBe("user");
  });
});
