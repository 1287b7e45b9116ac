/**
 * Authentication shared by every service and the gateway, for the two security schemes of the
 * contracts: `bearerAuth` — JWTs (RFC 7519) verified with jose against the users service's JWK
 * Set (RFC 7517) — and `apiKeyAuth` — service accounts' API keys (`X-API-Key`), verified by the
 * users service over NATS. Roles are OpenAPI 3.1 security-requirement scopes.
 */
import { createHash } from "node:crypto";
import type { QueryReply } from "@portico/contracts";
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey, jwtVerify } from "jose";
import { jwksFetch } from "./http-get.js";
import { type NatsConnection, query } from "./nats.js";
import { forbidden, HttpProblem, unauthorized } from "./problem.js";

/** The authenticated caller, taken from a verified access token. */
export interface Principal {
  /** The user id (`sub` claim). */
  userId: string;
  /** `role` claim. */
  role: "user" | "admin";
  /** `email` claim; empty for a service account. */
  email: string;
  /**
   * Set when the caller is a service account authenticated with an API key: the key's id (then
   * also `userId`, so a handler that records who acted records the key).
   */
  apiKeyId?: string;
}

/** Verifies an access token; resolves to its principal. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** How long a verified token's principal is reused without verifying it again, at most, in ms. */
export const VERIFIED_TOKEN_TTL_MS = 60_000;

/** How many verified tokens are remembered (the oldest are forgotten first). */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * A verifier backed by a JWK Set: a remote URL (fetched lazily, cached, refetched when an unknown
 * `kid` arrives; jose's createRemoteJWKSet) or a local key resolver (the users service itself).
 * A token that verified is remembered for {@link VERIFIED_TOKEN_TTL_MS} (never past its `exp`),
 * so a client sending the same token again costs a map lookup instead of a signature check: a key
 * withdrawn from the JWK Set stops being honoured within that time.
 * @param options.issuer the required `iss` claim.
 * @param options.audience the required `aud` claim.
 * @param options.cacheTtlMs how long a verified token is remembered, in ms; 0 turns it off.
 * @throws HttpProblem 401 from the returned function for any invalid, expired or unverifiable
 *   token; the reason is not disclosed to the caller.
 */
export function createTokenVerifier(options: {
  jwks: string | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  cacheTtlMs?: number;
}): TokenVerifier {
  const keys =
    typeof options.jwks === "string"
      ? createRemoteJWKSet(new URL(options.jwks), {
          cooldownDuration: 5_000,
          timeoutDuration: 2_000,
          [customFetch]: jwksFetch,
        })
      : options.jwks;
  const ttlMs = options.cacheTtlMs ?? VERIFIED_TOKEN_TTL_MS;
  const verified = new Map<string, { principal: Principal; until: number }>();
  return async (token) => {
    const now = Date.now();
    const known = verified.get(token);
    if (known && known.until > now) return known.principal;
    if (known) verified.delete(token);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
      });
      if (
        typeof payload.sub !== "string" ||
        (payload.role !== "user" && payload.role !== "admin")
      ) {
        throw new Error("token lacks sub or role");
      }
      const principal: Principal = {
        userId: payload.sub,
        role: payload.role,
        email: String(payload.email ?? ""),
      };
      if (ttlMs > 0) {
        const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 : now + ttlMs;
        if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
          verified.delete(verified.keys().next().value as string);
        }
        verified.set(token, { principal, until: Math.min(now + ttlMs, expiresAt) });
      }
      return principal;
    } catch {
      throw unauthorized("The bearer token is invalid or expired.");
    }
  };
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1), if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header ?? "");
  return match?.[1];
}

/**
 * Authenticates a request for an operation whose security requirement lists `roles` (empty:
 * any signed-in user).
 * @throws HttpProblem 401 without a valid token, 403 when the token's role is not listed.
 */
export async function authenticate(
  verify: TokenVerifier,
  authorization: string | undefined,
  roles: readonly string[],
): Promise<Principal> {
  const token = bearerToken(authorization);
  if (!token) throw unauthorized();
  const principal = await verify(token);
  if (roles.length > 0 && !roles.includes(principal.role)) {
    throw forbidden(`This operation requires the role ${roles.join(" or ")}.`);
  }
  return principal;
}

/** The request header of the `apiKeyAuth` scheme (contracts/components.yaml), lower-cased. */
export const API_KEY_HEADER = "x-api-key";

/**
 * Verifies a service account's API key; resolves to its principal (`apiKeyId` set).
 * @throws HttpProblem 401 for an unknown or revoked key, 503 when it cannot be checked now.
 */
export type ApiKeyVerifier = (
  apiKey: string,
  context?: { requestId?: string },
) => Promise<Principal>;

/** What the users service answers for an API key: its id, name and role, or null. */
export type ApiKeyRecord = QueryReply<"users.query.verifyApiKey">;

/** Looks an API key up; resolves to null for an unknown or revoked key, rejects when it cannot. */
export type ApiKeyLookup = (apiKey: string, requestId?: string) => Promise<ApiKeyRecord>;

/** The principal of a verified API key: `userId` and `apiKeyId` are the key's id. */
export function apiKeyPrincipal(record: NonNullable<ApiKeyRecord>): Principal {
  return { userId: record.apiKeyId, apiKeyId: record.apiKeyId, role: record.role, email: "" };
}

/** Longest `X-API-Key` value worth asking about; Portico keys are 64 characters. */
const MAX_API_KEY_LENGTH = 256;

/** Visible ASCII only: a key with anything else is not one, and is refused without a lookup. */
const API_KEY_SHAPE = /^[\x21-\x7e]+$/;

/** Options of {@link cachedApiKeyLookup}. */
export interface ApiKeyCacheOptions {
  /** How long an answer (valid key or not) is reused, in ms; default 5 000. 0 disables. */
  ttlMs?: number;
  /** Most answers kept; the oldest is dropped first. Default 10 000. */
  maxEntries?: number;
  /** Clock in ms (replaceable in tests). */
  now?: () => number;
}

/**
 * Wraps `lookup` with a short in-memory cache of its answers, positive and negative, so a busy
 * caller or a flood of made-up keys costs the users service one query per key per `ttlMs`. The
 * price: a revoked key keeps working here for up to `ttlMs`. Failed lookups are not cached;
 * concurrent lookups of one key share a query. Keys are held as SHA-256 digests, not in clear.
 */
export function cachedApiKeyLookup(
  lookup: ApiKeyLookup,
  options: ApiKeyCacheOptions = {},
): ApiKeyLookup {
  const ttlMs = options.ttlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const answers = new Map<string, { record: ApiKeyRecord; expiresAt: number }>();
  const pending = new Map<string, Promise<ApiKeyRecord>>();
  if (ttlMs <= 0) return lookup;
  return async (apiKey, requestId) => {
    const digest = createHash("sha256").update(apiKey).digest("base64url");
    const cached = answers.get(digest);
    if (cached && cached.expiresAt > now()) return cached.record;
    answers.delete(digest);
    const inFlight = pending.get(digest);
    if (inFlight) return inFlight;
    const asked = lookup(apiKey, requestId)
      .then((record) => {
        // Map iteration order is insertion order: the first key is the oldest answer.
        while (answers.size >= maxEntries) answers.delete(answers.keys().next().value as string);
        answers.set(digest, { record, expiresAt: now() + ttlMs });
        return record;
      })
      .finally(() => pending.delete(digest));
    pending.set(digest, asked);
    return asked;
  };
}

/**
 * An {@link ApiKeyLookup} that asks the users service (`users.query.verifyApiKey`, NATS
 * request/reply), the only holder of the keys' hashes.
 * @param nc the connection, or a function returning it once established (undefined before).
 * @param timeoutMs how long to wait for the users service's answer.
 */
export function natsApiKeyLookup(
  nc: NatsConnection | (() => NatsConnection | undefined),
  timeoutMs = 2_000,
): ApiKeyLookup {
  return async (apiKey, requestId) => {
    const connection = typeof nc === "function" ? nc() : nc;
    if (!connection || connection.isClosed()) throw new Error("NATS is not connected");
    return query(
      connection,
      "users.query.verifyApiKey",
      { apiKey },
      { timeoutMs, ...(requestId ? { requestId } : {}) },
    );
  };
}

/**
 * The {@link ApiKeyVerifier} over `lookup`: null → 401, a failed lookup → 503 with
 * `Retry-After` (the key may well be valid: a 401 would tell its holder otherwise).
 * @param onUnavailable called with the lookup's error (to log it; the caller only sees the 503).
 */
export function apiKeyVerifierFrom(
  lookup: ApiKeyLookup,
  onUnavailable: (err: unknown) => void = () => undefined,
): ApiKeyVerifier {
  return async (apiKey, context = {}) => {
    if (apiKey.length > MAX_API_KEY_LENGTH || !API_KEY_SHAPE.test(apiKey)) {
      throw invalidApiKey();
    }
    let record: ApiKeyRecord;
    try {
      record = await lookup(apiKey, context.requestId);
    } catch (err) {
      onUnavailable(err);
      throw new HttpProblem(503, "API keys cannot be verified right now; retry shortly.", {
        headers: { "Retry-After": "1" },
      });
    }
    if (!record) throw invalidApiKey();
    return apiKeyPrincipal(record);
  };
}

/**
 * The API-key verifier of services and the gateway: asks the users service over NATS
 * ({@link natsApiKeyLookup}) through a short cache ({@link cachedApiKeyLookup}).
 * @param nc the connection, or a function returning it once established.
 * @param options cache settings, the query timeout in ms, and a callback for failed lookups.
 */
export function createApiKeyVerifier(
  nc: NatsConnection | (() => NatsConnection | undefined),
  options: ApiKeyCacheOptions & { timeoutMs?: number; onUnavailable?: (err: unknown) => void } = {},
): ApiKeyVerifier {
  return apiKeyVerifierFrom(
    cachedApiKeyLookup(natsApiKeyLookup(nc, options.timeoutMs), options),
    options.onUnavailable,
  );
}

function invalidApiKey(): HttpProblem {
  return new HttpProblem(401, "The API key is invalid or revoked.", {
    headers: { "WWW-Authenticate": API_KEY_CHALLENGE },
  });
}

/** The `WWW-Authenticate` challenges (RFC 9110 section 11.6.1) of the two schemes. */
const BEARER_CHALLENGE = 'Bearer realm="portico"';
const API_KEY_CHALLENGE = 'ApiKey realm="portico", header="X-API-Key"';

/** A request as the credential checks see it (an Express request is one). */
export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The request id (kit `requestId()`), passed on to the API-key lookup. */
  id?: unknown;
  /** Set by the security handlers to the authenticated caller. */
  principal?: Principal;
}

/** Each credential's verification, once per request, whoever asks first (see below). */
interface CredentialChecks {
  bearer?: Promise<Principal>;
  apiKey?: Promise<Principal>;
}

const CHECKS = Symbol("portico.credentialChecks");

function checksOf(req: AuthRequest): CredentialChecks {
  const holder = req as AuthRequest & { [CHECKS]?: CredentialChecks };
  holder[CHECKS] ??= {};
  return holder[CHECKS];
}

/** Keeps a memoised rejection from being reported as unhandled before its first reader. */
function memo(promise: Promise<Principal>): Promise<Principal> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * The principal of the request's bearer token, verified once per request: the gateway asks
 * before rate limiting, the contract's security handler again; both get the same answer.
 * @throws HttpProblem 401 without a well-formed `Authorization: Bearer` header or a valid token.
 */
export function bearerPrincipalOf(req: AuthRequest, verify: TokenVerifier): Promise<Principal> {
  const checks = checksOf(req);
  checks.bearer ??= memo(
    (async () => {
      const header = req.headers.authorization;
      const token = bearerToken(typeof header === "string" ? header : undefined);
      if (!token) throw unauthorized();
      return verify(token);
    })(),
  );
  return checks.bearer;
}

/**
 * The principal of the request's `X-API-Key`, verified once per request (see
 * {@link bearerPrincipalOf}).
 * @param verify absent when this process cannot verify API keys: every key is then refused.
 * @throws HttpProblem 401 without the header or for an invalid key; 503 when it cannot be checked.
 */
export function apiKeyPrincipalOf(
  req: AuthRequest,
  verify: ApiKeyVerifier | undefined,
): Promise<Principal> {
  const checks = checksOf(req);
  checks.apiKey ??= memo(
    (async () => {
      const header = req.headers[API_KEY_HEADER];
      if (typeof header !== "string" || header === "") throw invalidApiKey();
      if (!verify) throw invalidApiKey();
      return verify(header, typeof req.id === "string" ? { requestId: req.id } : {});
    })(),
  );
  return checks.apiKey;
}

/** Whether the request carries credentials of `scheme` (bearer token or API key header). */
function presents(req: AuthRequest, scheme: string): boolean {
  if (scheme === "bearerAuth") return typeof req.headers.authorization === "string";
  if (scheme === "apiKeyAuth") return typeof req.headers[API_KEY_HEADER] === "string";
  return false;
}

/** @throws HttpProblem 403 naming the roles when `roles` is not empty and lacks the principal's. */
function requireRole(principal: Principal, roles: readonly string[]): Principal {
  if (roles.length > 0 && !roles.includes(principal.role)) throw roleProblem(roles);
  return principal;
}

function roleProblem(roles: readonly string[]): HttpProblem {
  return forbidden(`This operation requires the role ${roles.join(" or ")}.`);
}

/**
 * express-openapi-validator security handlers for `bearerAuth` and `apiKeyAuth`: each verifies
 * its credential (once per request), checks the requirement's scopes as roles, and sets
 * `req.principal`. When both pass, the bearer token's principal wins.
 */
export function securityHandlers(options: {
  verifyToken: TokenVerifier;
  verifyApiKey?: ApiKeyVerifier | undefined;
}): Record<"bearerAuth" | "apiKeyAuth", (req: AuthRequest, scopes: string[]) => Promise<boolean>> {
  return {
    bearerAuth: async (req, scopes) => {
      req.principal = requireRole(await bearerPrincipalOf(req, options.verifyToken), scopes);
      return true;
    },
    apiKeyAuth: async (req, scopes) => {
      const principal = requireRole(await apiKeyPrincipalOf(req, options.verifyApiKey), scopes);
      if (!req.principal || req.principal.apiKeyId) req.principal = principal;
      return true;
    },
  };
}

/** The security handlers of {@link securityHandlers}, by scheme name. */
export type SecurityHandlers = ReturnType<typeof securityHandlers>;

/**
 * Whether the request's credentials satisfy one of `requirements` (OpenAPI 3.1 section 4.8.30:
 * any requirement, every scheme of it; scopes are roles), judged by `handlers` — the contract
 * validator's own ({@link securityHandlers}) — the way express-openapi-validator runs them: every
 * scheme of every requirement is asked, at once, so `req.principal` ends as it would there (a
 * valid bearer token wins over an API key). A scheme without a handler fails. The verifications
 * are remembered on the request, so the validator reuses them if the request is handed over.
 */
export async function satisfiesSecurity(
  req: AuthRequest,
  requirements: SecurityRequirements,
  handlers: SecurityHandlers,
): Promise<boolean> {
  const outcomes = await Promise.all(
    requirements.map((requirement) =>
      Promise.all(
        Object.entries(requirement).map(([scheme, scopes]) => {
          const handler = handlers[scheme as keyof SecurityHandlers];
          if (!handler)
            return Promise.reject(new Error(`no handler for security scheme ${scheme}`));
          // A scheme whose credentials are absent fails without asking its handler, whose 401
          // Problem (an Error, its stack captured) would be built per request for nothing.
          if (!presents(req, scheme)) return Promise.reject(ABSENT);
          return handler(req, [...scopes]);
        }),
      ).then(
        () => true,
        () => false,
      ),
    ),
  );
  return outcomes.includes(true);
}

/** The one rejection of a scheme whose credentials a request does not carry. */
const ABSENT = new Error("credentials absent");

/** An operation's security requirements: alternatives, each mapping schemes to scopes (roles). */
export type SecurityRequirements = readonly Record<string, readonly string[]>[];

/**
 * The one Problem for a request that no security requirement let through, from what each
 * credential it carried turned out to be: 403 naming the roles when a valid credential lacks the
 * role; else 503 when a credential could not be checked; else 401 saying what is missing ("A
 * valid bearer token or API key is required.") with a `WWW-Authenticate` challenge per scheme.
 * Why a token failed (expired, bad signature, ...) is never told.
 */
export async function securityProblem(
  req: AuthRequest,
  requirements: SecurityRequirements,
): Promise<HttpProblem> {
  const schemes = [...new Set(requirements.flatMap((r) => Object.keys(r)))];
  const checks = checksOf(req);
  const outcomes = await Promise.all(
    schemes.map(async (scheme) => {
      const check = scheme === "bearerAuth" ? checks.bearer : checks.apiKey;
      const settled = check
        ? await check.then(
            (p) => ({ principal: p }),
            (e) => ({ error: e }),
          )
        : {};
      return { scheme, ...settled } as { scheme: string; principal?: Principal; error?: unknown };
    }),
  );
  if (outcomes.some((o) => o.principal)) {
    const roles = [...new Set(requirements.flatMap((r) => Object.values(r).flat()))];
    return roleProblem(roles);
  }
  const unavailable = outcomes.find(
    (o) => o.error instanceof HttpProblem && o.error.status === 503,
  )?.error;
  if (unavailable instanceof HttpProblem) return unavailable;

  const challenges = [
    ...(schemes.includes("bearerAuth") ? [BEARER_CHALLENGE] : []),
    ...(schemes.includes("apiKeyAuth") ? [API_KEY_CHALLENGE] : []),
  ];
  const headers = { "WWW-Authenticate": challenges.join(", ") || BEARER_CHALLENGE };
  const [only] = schemes;
  let detail = "A valid bearer token or API key is required.";
  if (schemes.length === 1 && only === "bearerAuth") {
    detail = presents(req, only)
      ? "The bearer token is invalid or expired."
      : "A valid bearer token is required.";
  } else if (schemes.length === 1 && only === "apiKeyAuth") {
    detail = presents(req, only)
      ? "The API key is invalid or revoked."
      : "A valid API key is required.";
  }
  return new HttpProblem(401, detail, { headers });
}
