/**
 * Password hashing with Argon2id (RFC 9106) via @node-rs/argon2, with its default parameters
 * (19 MiB, 2 passes, 1 lane — the OWASP baseline). Hashes are PHC strings carrying their salt and
 * parameters, so raising the cost later keeps old hashes verifiable.
 */
import { hash, verify } from "@node-rs/argon2";

/** Hashes and checks passwords. */
export interface Passwords {
  /** The Argon2id PHC string of `password`, with a fresh random salt. */
  hash(password: string): Promise<string>;
  /** True when `password` matches `passwordHash`; false for a wrong password or a bad hash. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Does the work of one {@link verify} against a dummy hash and returns false: called when the
   * account does not exist, so the response time does not reveal which emails are registered.
   */
  verifyNobody(password: string): Promise<false>;
}

/** Creates the password hasher; the dummy hash is computed once, right away. */
export function createPasswords(): Passwords {
  // Computed up front so the first unknown-email login does not pay for an extra hash.
  const dummyHash = hash("portico-dummy-password-for-unknown-accounts");
  const check = async (passwordHash: string, password: string) => {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  };
  return {
    hash: (password) => hash(password),
    verify: check,
    async verifyNobody(password) {
      await check(await dummyHash, password);
      return false;
    },
  };
}
