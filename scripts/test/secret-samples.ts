/**
 * Stand-ins for the secrets a deployment takes from outside (compose's `.env`, Kubernetes
 * Secrets), to check compose.yaml and deploy/k8s against what each service accepts.
 */
import { createHash } from "node:crypto";

/** An ES256 (P-256) private key in PKCS#8 PEM, made for these tests only. */
const JWT_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2
OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r
1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G
-----END PRIVATE KEY-----`;

const SAMPLES: Record<string, string> = {
  JWT_PRIVATE_KEY,
  DATABASE_URL: "postgres://portico:secret@db.example.com:5432/portico",
  SMTP_URL: "smtps://mailer:secret@smtp.example.com:465",
};

/**
 * A value for the secret `name`: a known-good sample for the system's own secrets, else a
 * 64-character hex key derived from the name (any other secret a service declares: HMAC keys
 * and the like).
 */
export function secretSample(name: string): string {
  return SAMPLES[name] ?? createHash("sha256").update(`portico-test-${name}`).digest("hex");
}
