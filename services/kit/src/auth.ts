/**
 * Bearer-token authentication shared by every service and the gateway: JWTs (RFC 7519)
 * verified with jose against the users service's JWK Set (RFC 7517), roles as OpenAPI 3.1
 * security-requirement scopes.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import { forbidden, unauthorized } from "./problem.js";

/** The authenticated caller, taken from a verified access token. */
export interface Principal {
  /** The user id (`sub` claim). */
  userId: string;
  /** `role` claim. */
  role: "user" | "admin";
  /** `email` claim. */
  email: string;
}

/** Verifies an access token; resolves to its principal. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * A verifier backed by a JWK Set: a remote URL (fetched lazily, cached, refetched when an unknown
 * `kid` arrives; jose's createRemoteJWKSet) or a local key resolver (the users service itself).
 * @param options.issuer the required `iss` claim.
 * @param options.audience the required `aud` claim.
 * @throws HttpProblem 401 from the returned function for any invalid, expired or unverifiable
 *   token; the reason is not disclosed to the caller.
 */
export function createTokenVerifier(options: {
  jwks: string | JWTVerifyGetKey;
  issuer: string;
  audience: string;
}): TokenVerifier {
  const keys =
    typeof options.jwks === "string"
      ? createRemoteJWKSet(new URL(options.jwks), {
          cooldownDuration: 5_000,
          timeoutDuration: 2_000,
        })
      : options.jwks;
  return async (token) => {
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
      return { userId: payload.sub, role: payload.role, email: String(payload.email ?? "") };
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
