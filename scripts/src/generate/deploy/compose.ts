/**
 * compose.yaml — the whole system in containers (`docker compose up --build`), built from the
 * service declarations: one container per service from its Dockerfile, NATS, PostgreSQL when a
 * service owns a database, Mailpit when one sends mail, and the gateway in front. Only the gateway
 * and the Mailpit UI publish ports; every dependant starts once what it needs is healthy.
 */
import {
  providerOf,
  type ServiceDeclaration,
  type SystemVariable,
  TOKEN_CLAIMS,
  upstreamVariable,
} from "../../services/declarations.js";
import { GATEWAY_PORT, generatedHeader, toYaml } from "./shared.js";

/** Compose interpolation: `${VAR:-default}` from the shell or `.env`. */
const variable = (name: string, fallback: string) => `\${${name}:-${fallback}}`;
const POSTGRES_PASSWORD = variable("POSTGRES_PASSWORD", "portico");
const POSTGRES_URL = `postgres://postgres:${POSTGRES_PASSWORD}@postgres:5432`;
const HEALTH_TIMING = { interval: "5s", timeout: "3s", retries: 10 };

/** The Compose service (container) providing each system variable, and its value there. */
function systemValue(
  services: readonly ServiceDeclaration[],
  service: ServiceDeclaration,
  variable: SystemVariable,
): { value: string; from: string } {
  switch (variable) {
    case "NATS_URL":
      return { value: "nats://nats:4222", from: "nats" };
    case "DATABASE_URL":
      return { value: `${POSTGRES_URL}/${service.name}`, from: "postgres" };
    case "SMTP_URL":
      return { value: "smtp://mailpit:1025", from: "mailpit" };
    case "JWKS_URL": {
      const provider = providerOf(services, variable);
      if (!provider) throw new Error(`${service.name} needs JWKS_URL but no service provides it`);
      const { name, port } = provider.service;
      return { value: `http://${name}:${port}${provider.path}`, from: name };
    }
  }
}

/** A readiness check run inside the service's own image (node or python, no curl). */
function healthcheck(language: ServiceDeclaration["language"], path: string) {
  const test =
    language === "python"
      ? [
          "CMD",
          "python",
          "-c",
          `import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s${path}' % os.environ['PORT'], timeout=2)`,
        ]
      : [
          "CMD",
          "node",
          "-e",
          `fetch('http://127.0.0.1:'+process.env.PORT+'${path}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ];
  return { test, ...HEALTH_TIMING, retries: 12 };
}

const healthy = (names: Iterable<string>) =>
  Object.fromEntries([...new Set(names)].map((name) => [name, { condition: "service_healthy" }]));

function serviceContainer(services: readonly ServiceDeclaration[], service: ServiceDeclaration) {
  const needs = service.needs.map(
    (variable) => [variable, systemValue(services, service, variable)] as const,
  );
  return {
    restart: "unless-stopped",
    build: { context: ".", dockerfile: `${service.dir}/Dockerfile` },
    environment: {
      NODE_ENV: "production",
      HOST: "0.0.0.0",
      PORT: String(service.port),
      LOG_LEVEL: "info",
      ...TOKEN_CLAIMS,
      ...Object.fromEntries(needs.map(([variable, { value }]) => [variable, value])),
      ...Object.fromEntries(
        Object.entries(service.config).map(([key, value]) => [key, variable(key, value)]),
      ),
      ...Object.fromEntries(
        service.secrets.map((key) => [key, `\${${key}:?set ${key} in .env (see .env.example)}`]),
      ),
    },
    depends_on: healthy(needs.map(([, { from }]) => from).filter((from) => from !== service.name)),
    healthcheck: healthcheck(service.language, service.readyPath),
  };
}

/** The content of compose.yaml for these services. */
export function buildCompose(services: readonly ServiceDeclaration[]): string {
  const databases = services.filter((s) => s.database).map((s) => s.name);
  const mail = services.some((s) => s.needs.includes("SMTP_URL"));
  const issuer = providerOf(services, "JWKS_URL");
  const compose = {
    services: {
      nats: {
        image: "nats:2.10-alpine",
        command: ["-js", "-sd", "/data", "-m", "8222"],
        volumes: ["nats-data:/data"],
        healthcheck: {
          test: [
            "CMD",
            "wget",
            "-q",
            "-O",
            "-",
            "http://127.0.0.1:8222/healthz?js-enabled-only=true",
          ],
          ...HEALTH_TIMING,
        },
      },
      ...(databases.length > 0
        ? {
            postgres: {
              image: "postgres:17-alpine",
              environment: {
                POSTGRES_USER: "postgres",
                POSTGRES_PASSWORD,
              },
              volumes: [
                "./deploy/postgres/init-databases.sql:/docker-entrypoint-initdb.d/01-databases.sql:ro",
                "postgres-data:/var/lib/postgresql/data",
              ],
              // Ready once the init script created the last database.
              healthcheck: {
                test: ["CMD-SHELL", `pg_isready -U postgres -d ${databases.at(-1)}`],
                ...HEALTH_TIMING,
              },
            },
          }
        : {}),
      ...(mail
        ? {
            mailpit: {
              image: "axllent/mailpit:v1.21",
              ports: ["8025:8025"],
              healthcheck: { test: ["CMD", "/mailpit", "readyz"], ...HEALTH_TIMING },
            },
          }
        : {}),
      ...Object.fromEntries(services.map((s) => [s.name, serviceContainer(services, s)])),
      gateway: {
        restart: "unless-stopped",
        build: { context: ".", dockerfile: "gateway/Dockerfile" },
        environment: {
          NODE_ENV: "production",
          HOST: "0.0.0.0",
          PORT: String(GATEWAY_PORT),
          LOG_LEVEL: "info",
          PUBLIC_URL: `http://localhost:${GATEWAY_PORT}`,
          ...(issuer
            ? { JWKS_URL: `http://${issuer.service.name}:${issuer.service.port}${issuer.path}` }
            : {}),
          ...TOKEN_CLAIMS,
          NATS_URL: "nats://nats:4222",
          ...Object.fromEntries(
            services.map((s) => [upstreamVariable(s.name), `http://${s.name}:${s.port}`]),
          ),
        },
        ports: [`${GATEWAY_PORT}:${GATEWAY_PORT}`],
        depends_on: healthy(services.map((s) => s.name)),
        healthcheck: healthcheck("typescript", "/readyz"),
      },
    },
    volumes: {
      "nats-data": null,
      ...(databases.length > 0 ? { "postgres-data": null } : {}),
    },
  };
  return `${generatedHeader("The whole Portico system in containers: `docker compose up --build`.")}
# Only the gateway (${GATEWAY_PORT}) and the Mailpit UI (8025) publish ports. Secrets (such as the
# token signing key) come from a \`.env\` file next to this one: see .env.example.

${toYaml(compose)}`;
}

/** deploy/postgres/init-databases.sql: one database per service that owns one. */
export function buildInitDatabases(services: readonly ServiceDeclaration[]): string {
  return [
    "-- DO NOT EDIT: generated by `npm run generate` from the service declarations.",
    "-- One database per service (each service owns its own; none reads another's tables).",
    "-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).",
    ...services.filter((s) => s.database).map((s) => `CREATE DATABASE "${s.name}";`),
    "",
  ].join("\n");
}
