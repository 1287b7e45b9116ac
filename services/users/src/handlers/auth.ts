/**
 * Handlers of the token operations: issueToken (OAuth 2.0 resource owner password credentials
 * grant, RFC 6749 section 4.3; failed attempts throttled per account, or per device for a client
 * holding a device cookie: security/login-throttle.ts, security/device-cookie.ts)
 * and getJwks (the public signing keys, RFC 7517 section 5).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { UsersApi } from "@portico/contracts";
import { type Handlers, type Kysely, unauthorized } from "@portico/kit";
import { normalizeEmail } from "../domain/email.js";
import type { DeviceCookies } from "../security/device-cookie.js";
import {
  createLoginThrottle,
  type LoginThrottle,
  type ThrottleSubject,
} from "../security/login-throttle.js";
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
  /** Issues a device cookie on each successful sign-in, and recognises it on the next. */
  deviceCookies: DeviceCookies;
  /**
   * Whether a device cookie carries `Secure` on a request that did not arrive over HTTPS
   * (`X-Forwarded-Proto: https`): true in production, false in development so that a browser on
   * http://127.0.0.1 keeps it.
   */
  alwaysSecureCookies: boolean;
}

/** Caches may keep the JWK Set for 5 minutes; verifiers refetch on an unknown `kid` anyway. */
const JWKS_CACHE_CONTROL = "public, max-age=300";

/** The client's protocol as the first proxy saw it (`X-Forwarded-Proto`'s first entry). */
function originalProtocol(headers: IncomingHttpHeaders): string | undefined {
  return (
    String(headers["x-forwarded-proto"] ?? "")
      .split(",")[0]
      ?.trim() || undefined
  );
}

/** Builds the token handlers. */
export function authHandlers(deps: AuthHandlerDeps): Pick<Handlers<Ops>, "issueToken" | "getJwks"> {
  const throttle = deps.loginThrottle ?? createLoginThrottle(deps.db);
  return {
    async issueToken({ body, headers }) {
      const email = normalizeEmail(body.username);
      // A device that signed in to this account before is judged on its own failures only, so
      // others' guesses cannot lock it out; any other client is throttled per email, whether or
      // not it has an account (the 429 reveals nothing either).
      const device = deps.deviceCookies.verify(headers, email);
      const subject: ThrottleSubject = device
        ? { kind: "device", nonce: device.nonce }
        : { kind: "account", normalizedEmail: email };
      await throttle.admit(subject);
      const user = await findUserByEmail(deps.db, email);
      // Same Argon2 work whether or not the account exists: timing does not reveal emails.
      const valid = user
        ? await deps.passwords.verify(user.password_hash, body.password)
        : await deps.passwords.verifyNobody(body.password);
      // One answer for an unknown email and a wrong password, so neither is revealed.
      if (!user || !valid) throw unauthorized("The email or password is incorrect.");
      // A known device's success clears its own count, not the untrusted clients' one.
      await throttle.succeeded(subject);
      const token = await deps.issueToken({ id: user.id, email: user.email, role: user.role });
      const secure = deps.alwaysSecureCookies || originalProtocol(headers) === "https";
      return {
        status: 200,
        body: {
          access_token: token.accessToken,
          token_type: "Bearer",
          expires_in: token.expiresIn,
        },
        // A new nonce each time (OWASP): a cookie that leaked stops naming the device.
        headers: {
          "Cache-Control": "no-store",
          "Set-Cookie": deps.deviceCookies.issue(email, { secure }),
        },
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
