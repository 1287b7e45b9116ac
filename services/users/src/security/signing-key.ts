/**
 * The ES256 key pair that signs access tokens: imported from a PKCS#8 PEM (production) or a
 * stored private JWK, or generated. Its key id is the RFC 7638 JWK thumbprint of the public key,
 * so the same key always has the same `kid` wherever it is loaded.
 */
import { createPrivateKey } from "node:crypto";
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type JWK,
} from "jose";
import { ACCESS_TOKEN_ALG } from "../domain/claims.js";

/** A signing key ready to use, with the public JWK that verifies its signatures. */
export interface SigningKey {
  /** RFC 7638 thumbprint (SHA-256, base64url) of the public JWK. */
  kid: string;
  privateKey: CryptoKey;
  /** The private key as a JWK (includes `d`): what the database stores. Never publish it. */
  privateJwk: JWK;
  /** The public JWK as published in the JWK Set: `kty crv x y kid alg use`. */
  publicJwk: PublishedJwk;
}

/** A public JWK as published: the key plus `kid`, `alg` and `use` (RFC 7517 section 4). */
export type PublishedJwk = JWK & { kty: string; kid: string; alg: string; use: "sig" };

/** A JWK Set (RFC 7517 section 5) of published keys; also what jose's createLocalJWKSet takes. */
export interface PublishedJwkSet {
  keys: PublishedJwk[];
}

/**
 * True when `pem` is an unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`, RFC 5208/5958) holding a
 * P-256 private key, the only kind ES256 accepts.
 */
export function isEs256PrivateKeyPem(pem: string): boolean {
  if (!pem.includes("-----BEGIN PRIVATE KEY-----")) return false;
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1";
  } catch {
    return false;
  }
}

/**
 * The signing key for an EC P-256 private JWK (RFC 7517/7518: `kty crv x y d`).
 * @throws Error when the JWK is not an ES256 private key.
 */
export async function signingKeyFromJwk(privateJwk: JWK): Promise<SigningKey> {
  const { kty, crv, x, y, d } = privateJwk;
  if (kty !== "EC" || crv !== "P-256" || !x || !y || !d) {
    throw new Error("the signing key must be an EC P-256 private JWK");
  }
  const publicPart = { kty, crv, x, y };
  const kid = await calculateJwkThumbprint(publicPart, "sha256");
  const privateKey = (await importJWK({ kty, crv, x, y, d }, ACCESS_TOKEN_ALG)) as CryptoKey;
  return {
    kid,
    privateKey,
    privateJwk: { kty, crv, x, y, d },
    publicJwk: { ...publicPart, kid, alg: ACCESS_TOKEN_ALG, use: "sig" },
  };
}

/**
 * The signing key for a PKCS#8 PEM (the `JWT_PRIVATE_KEY` variable).
 * @throws Error when the PEM is not an unencrypted PKCS#8 P-256 private key.
 */
export async function signingKeyFromPem(pem: string): Promise<SigningKey> {
  const key = await importPKCS8(pem, ACCESS_TOKEN_ALG, { extractable: true });
  return signingKeyFromJwk(await exportJWK(key));
}

/** A freshly generated ES256 signing key. */
export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  return signingKeyFromJwk(await exportJWK(privateKey));
}

/** The JWK Set (RFC 7517 section 5) that publishes the public halves of `keys`. */
export function publicJwkSet(keys: readonly SigningKey[]): PublishedJwkSet {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}
