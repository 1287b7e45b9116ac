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
   * Does the work of one {@link verify} (one Argon2id hash of `password`) and returns false:
   * called when the account does not exist, so the response time does not reveal which emails
   * are registered.
   */
  verifyNobody(password: string): Promise<false>;
}

/**
 * Creates the password hasher. An unknown account costs what a known one does: one Argon2id
 * computation with the same parameters, here a hash of the given password that is thrown away
 * (rather than a check against a dummy hash computed at start: nothing is computed before the
 * first sign-in, and no hash is kept for the purpose).
 */
export function createPasswords(): Passwords {
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
      await hash(password);
      return false;
    },
  };
}
