/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies", A. Dedov; the
 * OWASP Authentication Cheat Sheet's answer to lockouts turned against their owner): a client
 * that signed in to an account gets a cookie naming that account and a random nonce, signed with
 * HMAC-SHA256. Later sign-ins to the same account that present it are throttled per device (by
 * its nonce) instead of with every untrusted client of the account, so nobody else's guesses can
 * keep the owner's own devices waiting.
 *
 * The value is `<email>.<nonce>.<issuedAt>.<mac>`: the normalised email (base64url, since an
 * email may hold characters a cookie value may not), 16 random bytes (base64url), the issue time
 * in whole seconds since the epoch, and base64url HMAC-SHA256(key, "portico-device-cookie" LF
 * email LF nonce LF issuedAt). A cookie older than `maxAgeSeconds`, for another account, or whose
 * MAC does not verify is no device cookie at all.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { parseCookie, stringifySetCookie } from "cookie";

/** The cookie's name. */
export const DEVICE_COOKIE_NAME = "device";
/** Where the browser sends it: only to the token endpoint, which alone reads it. */
export const DEVICE_COOKIE_PATH = "/auth/token";
/** 180 days, in seconds: a device stays known that long after its last successful sign-in. */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 180 * 24 * 60 * 60;

const MAC_LABEL = "portico-device-cookie";
const NONCE_BYTES = 16;

/** A device cookie that verified for the account it was presented with. */
export interface KnownDevice {
  /** The random nonce naming the device (16 bytes). */
  nonce: Buffer;
}

/** Issues and verifies device cookies with one HMAC key. */
export interface DeviceCookies {
  /**
   * The `Set-Cookie` value of a new device cookie for `normalizedEmail`: HttpOnly,
   * SameSite=Strict, Path=/auth/token, Max-Age of 180 days, and Secure when `secure`.
   */
  issue(normalizedEmail: string, options: { secure: boolean }): string;
  /**
   * The device named by the request's `device` cookie when it verifies for `normalizedEmail`;
   * undefined when there is none, it is malformed, altered, expired or for another account.
   */
  verify(headers: IncomingHttpHeaders, normalizedEmail: string): KnownDevice | undefined;
}

/**
 * Device cookies signed with `key` (at least 32 bytes of secret; `DEVICE_COOKIE_KEY`).
 * @param now the clock, in ms since the epoch (tests move it).
 */
export function createDeviceCookies(
  key: string,
  options: { maxAgeSeconds?: number; now?: () => number } = {},
): DeviceCookies {
  const maxAgeSeconds = options.maxAgeSeconds ?? DEVICE_COOKIE_MAX_AGE_SECONDS;
  const now = options.now ?? Date.now;
  const mac = (email: string, nonce: string, issuedAt: string) =>
    createHmac("sha256", key).update(`${MAC_LABEL}\n${email}\n${nonce}\n${issuedAt}`).digest();

  return {
    issue(normalizedEmail, { secure }) {
      const email = Buffer.from(normalizedEmail).toString("base64url");
      const nonce = randomBytes(NONCE_BYTES).toString("base64url");
      const issuedAt = String(Math.floor(now() / 1000));
      const signature = mac(normalizedEmail, nonce, issuedAt).toString("base64url");
      return stringifySetCookie(DEVICE_COOKIE_NAME, `${email}.${nonce}.${issuedAt}.${signature}`, {
        httpOnly: true,
        secure,
        sameSite: "strict",
        path: DEVICE_COOKIE_PATH,
        maxAge: maxAgeSeconds,
      });
    },

    verify(headers, normalizedEmail) {
      const header = headers.cookie;
      if (!header) return undefined;
      // No URI decoding: a genuine value is base64url and digits only.
      const value = parseCookie(header, { decode: (raw) => raw })[DEVICE_COOKIE_NAME];
      const parts = value?.split(".");
      if (parts?.length !== 4) return undefined;
      const [email, nonce, issuedAt, signature] = parts as [string, string, string, string];
      if (Buffer.from(email, "base64url").toString() !== normalizedEmail) return undefined;
      if (!/^\d{1,12}$/.test(issuedAt)) return undefined;
      const ageSeconds = now() / 1000 - Number(issuedAt);
      if (ageSeconds < -60 || ageSeconds > maxAgeSeconds) return undefined;
      // The MAC's text is compared, not its decoded bytes: base64url decoding ignores the unused
      // low bits of the last character, so another spelling of the same MAC is no cookie either.
      const expected = Buffer.from(mac(normalizedEmail, nonce, issuedAt).toString("base64url"));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const nonceBytes = Buffer.from(nonce, "base64url");
      if (nonceBytes.length !== NONCE_BYTES || nonceBytes.toString("base64url") !== nonce) {
        return undefined;
      }
      return { nonce: nonceBytes };
    },
  };
}
