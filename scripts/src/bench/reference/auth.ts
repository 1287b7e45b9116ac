/**
 * The reference service's `bearerAuth` (contracts/components.yaml): an ES256 JWT (RFC 7519)
 * verified with jose against the users service's JWK Set (RFC 7517), with the kit's policy — a
 * verified token is remembered for 60 s (never past its `exp`), so a repeated token costs a map
 * lookup — and the role checked against the operation's scopes. A fastify-openapi-glue security
 * handler: it throws to refuse, and glue answers 401 (or the thrown `statusCode`).
 */
import type { FastifyRequest } from "fastify";
import { createRemoteJWKSet, jwtVerify } from "jose";

/** The caller of an authenticated request. */
export interface Caller {
  userId: string;
  role: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by `bearerAuth` on operations that declare it. */
    caller?: Caller;
  }
}

/** How long a verified token is reused, in ms (the kit's `VERIFIED_TOKEN_TTL_MS`). */
const TTL_MS = 60_000;
/** Most tokens remembered; the oldest is forgotten first. */
const MAX_TOKENS = 10_000;

/** An error glue turns into the answer's status. */
function refused(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}

/**
 * glue's security handlers for the two schemes of the contracts: `bearerAuth` as above,
 * `apiKeyAuth` always refused (the reference has no API keys; nothing measured uses them).
 * @param options.jwksUrl the users service's `/.well-known/jwks.json`.
 */
export function securityHandlers(options: { jwksUrl: string; issuer: string; audience: string }) {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl));
  const verified = new Map<string, { caller: Caller; until: number }>();

  async function verify(token: string): Promise<Caller> {
    const now = Date.now();
    const known = verified.get(token);
    if (known && known.until > now) return known.caller;
    verified.delete(token);
    const { payload } = await jwtVerify(token, keys, {
      issuer: options.issuer,
      audience: options.audience,
    });
    if (typeof payload.sub !== "string" || typeof payload.role !== "string") {
      throw refused(401, "token lacks sub or role");
    }
    const caller = { userId: payload.sub, role: payload.role };
    const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 : now + TTL_MS;
    if (verified.size >= MAX_TOKENS) verified.delete(verified.keys().next().value as string);
    verified.set(token, { caller, until: Math.min(now + TTL_MS, expiresAt) });
    return caller;
  }

  return {
    async bearerAuth(request: FastifyRequest, _reply: unknown, scopes: string[]) {
      const token = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(
        request.headers.authorization ?? "",
      )?.[1];
      if (!token) throw refused(401, "no bearer token");
      const caller = await verify(token).catch((error: Error & { statusCode?: number }) => {
        throw error.statusCode ? error : refused(401, "invalid bearer token");
      });
      if (scopes.length > 0 && !scopes.includes(caller.role)) throw refused(403, "role refused");
      request.caller = caller;
    },
    async apiKeyAuth() {
      // No statusCode: glue then answers with bearerAuth's (401, or 403 for a valid token whose
      // role is not allowed).
      throw new Error("API keys are not supported by the reference service");
    },
  };
}
