/**
 * Handlers of the token operations: issueToken (OAuth 2.0 resource owner password credentials
 * grant, RFC 6749 section 4.3; failed attempts throttled per account, security/login-throttle.ts)
 * and getJwks (the public signing keys, RFC 7517 section 5).
 */
import type { UsersApi } from "@portico/contracts";
import { type Handlers, type Kysely, unauthorized } from "@portico/kit";
import { normalizeEmail } from "../domain/email.js";
import { createLoginThrottle, type LoginThrottle } from "../security/login-throttle.js";
import type { Passwords } from "../security/passwords.js";
import type { PublishedJwkSet } from "../security/signing-key.js";
import type { TokenIssuer } from "../security/token-issuer.js";
import type { UsersDatabase } from "../store/schema.js";
import { findUserByEmail } from "../store/users.js";

type Ops = UsersApi.operations;

/** What the token handlers need. */
export interface AuthHandlerDeps {
  db: Kysely<UsersDatabase>;
  passwords: Passwords;
  issueToken: TokenIssuer;
  /** The JWK Set published at `/.well-known/jwks.json`. */
  jwks: PublishedJwkSet;
  /** Throttle of failed sign-ins (default: kept in `db` with the default policy). */
  loginThrottle?: LoginThrottle;
}

/** Caches may keep the JWK Set for 5 minutes; verifiers refetch on an unknown `kid` anyway. */
const JWKS_CACHE_CONTROL = "public, max-age=300";

/** Builds the token handlers. */
export function authHandlers(deps: AuthHandlerDeps): Pick<Handlers<Ops>, "issueToken" | "getJwks"> {
  const throttle = deps.loginThrottle ?? createLoginThrottle(deps.db);
  return {
    async issueToken({ body }) {
      const email = normalizeEmail(body.username);
      // Throttled per email, whether or not it has an account: the 429 reveals nothing either.
      await throttle.admit(email);
      const user = await findUserByEmail(deps.db, email);
      // Same Argon2 work whether or not the account exists: timing does not reveal emails.
      const valid = user
        ? await deps.passwords.verify(user.password_hash, body.password)
        : await deps.passwords.verifyNobody(body.password);
      // One answer for an unknown email and a wrong password, so neither is revealed.
      if (!user || !valid) throw unauthorized("The email or password is incorrect.");
      await throttle.succeeded(email);
      const token = await deps.issueToken({ id: user.id, email: user.email, role: user.role });
      return {
        status: 200,
        body: {
          access_token: token.accessToken,
          token_type: "Bearer",
          expires_in: token.expiresIn,
        },
        headers: { "Cache-Control": "no-store" },
      };
    },

    async getJwks() {
      return {
        status: 200,
        body: deps.jwks,
        headers: { "Cache-Control": JWKS_CACHE_CONTROL },
      };
    },
  };
}
