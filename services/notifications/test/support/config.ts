/** The smallest environment the notifications config accepts, for config tests to vary. */
export const minimalEnv = {
  PORT: "8083",
  DATABASE_URL: "postgres://postgres:pw@127.0.0.1:5432/notifications",
  NATS_URL: "nats://127.0.0.1:4222",
  JWKS_URL: "http://127.0.0.1:8081/.well-known/jwks.json",
  SMTP_URL: "smtp://127.0.0.1:1025",
};
