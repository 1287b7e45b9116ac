/**
 * deploy/k8s — the system on Kubernetes (`kubectl apply -k deploy/k8s`), built from the service
 * declarations: per service a Deployment (2 replicas when replicable), a Service and a disruption
 * budget; the gateway with its Ingress; one ConfigMap of the non-secret settings; the
 * kustomization listing them. Secrets (database URLs, SMTP_URL, a service's own `secrets`) come
 * from the Secret `portico-<service>`, which the operator creates (docs/deployment.md).
 */
import {
  providerOf,
  type ServiceDeclaration,
  TOKEN_CLAIMS,
  upstreamVariable,
} from "../../services/declarations.js";
import { GATEWAY_PORT, generatedHeader, toYaml } from "./shared.js";

const NAMESPACE = "portico";
const CONFIG_MAP = "portico-config";
const DOMAIN = `${NAMESPACE}.svc.cluster.local`;
/** Every node of the NATS cluster (official Helm chart, release "nats" in namespace "nats"). */
const NATS_URL = [0, 1, 2]
  .map((i) => `nats://nats-${i}.nats-headless.nats.svc.cluster.local:4222`)
  .join(",");
/** System variables that are secrets: from the service's own Secret. */
const SECRET_SYSTEM_VARIABLES = new Set(["DATABASE_URL", "SMTP_URL"]);

/** The version of what a service's image is built from (its Dockerfile tags `portico/<name>`). */
export type VersionOf = (service: ServiceDeclaration) => string;

/** How a container of each language runs: its image's user and its CPU share. */
const RUNTIME = {
  typescript: { user: 1000, cpu: "100m", env: [] as { name: string; value: string }[] },
  // One uvicorn worker per pod: scale with replicas.
  python: { user: 10001, cpu: "250m", env: [{ name: "WEB_CONCURRENCY", value: "1" }] },
};

const fromConfig = (name: string) => ({
  name,
  valueFrom: { configMapKeyRef: { name: CONFIG_MAP, key: name } },
});
const fromSecret = (service: string, name: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: `${NAMESPACE}-${service}`, key: name } },
});
const serviceUrl = (s: { name: string; port: number }) => `http://${s.name}.${DOMAIN}:${s.port}`;

interface Workload {
  name: string;
  component: "service" | "gateway";
  image: string;
  port: number;
  replicas: number;
  user: number;
  cpu: string;
  env: object[];
  readyPath: string;
  livePath: string;
}

function deployment(w: Workload): object[] {
  const labels = { "app.kubernetes.io/name": w.name, "app.kubernetes.io/component": w.component };
  const selector = { matchLabels: { "app.kubernetes.io/name": w.name } };
  const probe = (
    path: string,
    periodSeconds: number,
    timeoutSeconds: number,
    failureThreshold: number,
  ) => ({
    httpGet: { path, port: "http" },
    periodSeconds,
    timeoutSeconds,
    failureThreshold,
  });
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: w.name, namespace: NAMESPACE, labels },
      spec: {
        replicas: w.replicas,
        selector,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 30,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: w.user,
              runAsGroup: w.user,
              seccompProfile: { type: "RuntimeDefault" },
            },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: selector,
              },
            ],
            containers: [
              {
                name: w.name,
                image: w.image,
                ports: [{ name: "http", containerPort: w.port, protocol: "TCP" }],
                env: w.env,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                resources: {
                  requests: { cpu: w.cpu, memory: "128Mi" },
                  limits: { memory: "256Mi" },
                },
                // Start-up may run database migrations: up to a minute before liveness applies.
                startupProbe: {
                  httpGet: { path: w.livePath, port: "http" },
                  periodSeconds: 2,
                  failureThreshold: 30,
                },
                livenessProbe: probe(w.livePath, 10, 2, 3),
                readinessProbe: probe(w.readyPath, 5, 3, 2),
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              },
            ],
            volumes: [{ name: "tmp", emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: w.name, namespace: NAMESPACE, labels: selector.matchLabels },
      spec: {
        selector: selector.matchLabels,
        ports: [{ name: "http", port: w.port, targetPort: "http", protocol: "TCP" }],
      },
    },
    ...(w.replicas > 1
      ? [
          {
            apiVersion: "policy/v1",
            kind: "PodDisruptionBudget",
            metadata: { name: w.name, namespace: NAMESPACE },
            spec: { minAvailable: 1, selector },
          },
        ]
      : []),
  ];
}

function documents(header: string, objects: object[]): string {
  return `${header}\n${objects.map((o) => toYaml(o)).join("---\n")}`;
}

/** The keys of each service's Secret `portico-<service>`, by service (services without one left out). */
export function secretKeys(
  services: readonly ServiceDeclaration[],
): Map<string, readonly string[]> {
  return new Map(
    services
      .map(
        (s) =>
          [
            s.name,
            [...s.needs.filter((v) => SECRET_SYSTEM_VARIABLES.has(v)), ...s.secrets],
          ] as const,
      )
      .filter(([, keys]) => keys.length > 0),
  );
}

/** deploy/k8s/SECRETS.md: the command creating each service's Secret. */
function secretsGuide(services: readonly ServiceDeclaration[]): string {
  const commands = [...secretKeys(services)].map(([service, keys]) =>
    [
      `kubectl -n ${NAMESPACE} create secret generic ${NAMESPACE}-${service} \\`,
      ...keys.map((key, i) => `  --from-literal=${key}='…'${i < keys.length - 1 ? " \\" : ""}`),
    ].join("\n"),
  );
  return `<!-- DO NOT EDIT: generated by \`npm run generate\` from the service declarations. -->
# Secrets of the Deployments

Create these before \`kubectl apply -k deploy/k8s\` (values: see docs/deployment.md; a file's
content with \`--from-file=KEY=path\` instead of \`--from-literal\`). Each service reads its own
Secret \`${NAMESPACE}-<service>\`.

\`\`\`sh
${commands.join("\n")}
\`\`\`
`;
}

function serviceEnv(services: readonly ServiceDeclaration[], s: ServiceDeclaration): object[] {
  return [
    { name: "HOST", value: "0.0.0.0" },
    { name: "PORT", value: String(s.port) },
    ...RUNTIME[s.language].env,
    ...["NODE_ENV", "LOG_LEVEL", ...Object.keys(TOKEN_CLAIMS)].map(fromConfig),
    ...s.needs.flatMap((variable): object[] => {
      if (SECRET_SYSTEM_VARIABLES.has(variable)) return [fromSecret(s.name, variable)];
      if (variable === "JWKS_URL" && !providerOf(services, variable)) {
        throw new Error(`${s.name} needs JWKS_URL but no service provides it`);
      }
      // Copies of each JetStream stream (the kit's ensureStream): at most the node count.
      return variable === "NATS_URL"
        ? [fromConfig(variable), fromConfig("NATS_STREAM_REPLICAS")]
        : [fromConfig(variable)];
    }),
    ...Object.keys(s.config).map(fromConfig),
    ...s.secrets.map((key) => fromSecret(s.name, key)),
  ];
}

/**
 * Every file of deploy/k8s but namespace.yaml (hand-written), by file name.
 * @param versionOf the image tag of each service (its package's version).
 * @param gatewayVersion the gateway's.
 * @throws Error when two services set one ConfigMap key to different values.
 */
export function buildK8s(
  services: readonly ServiceDeclaration[],
  versionOf: VersionOf,
  gatewayVersion: string,
): Map<string, string> {
  const files = new Map<string, string>();
  const issuer = providerOf(services, "JWKS_URL");
  const data: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    ...TOKEN_CLAIMS,
    NATS_URL,
    NATS_STREAM_REPLICAS: "3",
    ...(issuer ? { JWKS_URL: `${serviceUrl(issuer.service)}${issuer.path}` } : {}),
  };
  for (const s of services) {
    for (const [key, value] of Object.entries(s.config)) {
      if (data[key] !== undefined && data[key] !== value) {
        throw new Error(`${key} is set to two values (one is ${s.name}'s)`);
      }
      data[key] = value;
    }
  }
  for (const s of services) data[upstreamVariable(s.name)] = serviceUrl(s);
  data.PUBLIC_URL = "https://api.example.com";
  files.set(
    "config.yaml",
    documents(
      generatedHeader(
        "Non-secret settings of the services (each Deployment picks the keys it reads).",
      ),
      [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: CONFIG_MAP, namespace: NAMESPACE },
          data,
        },
      ],
    ),
  );

  for (const s of services) {
    const runtime = RUNTIME[s.language];
    files.set(
      `${s.name}.yaml`,
      documents(
        generatedHeader(`The ${s.name} service: ${s.description}`),
        deployment({
          name: s.name,
          component: "service",
          image: `portico/${s.name}:${versionOf(s)}`,
          port: s.port,
          replicas: s.replicable ? 2 : 1,
          user: runtime.user,
          cpu: runtime.cpu,
          env: serviceEnv(services, s),
          readyPath: s.readyPath,
          livePath: s.livePath,
        }),
      ),
    );
  }

  files.set(
    "gateway.yaml",
    documents(generatedHeader("The gateway: the public entry point (validates, then proxies)."), [
      ...deployment({
        name: "gateway",
        component: "gateway",
        image: `portico/gateway:${gatewayVersion}`,
        port: GATEWAY_PORT,
        replicas: 2,
        user: RUNTIME.typescript.user,
        cpu: RUNTIME.typescript.cpu,
        env: [
          { name: "HOST", value: "0.0.0.0" },
          { name: "PORT", value: String(GATEWAY_PORT) },
          ...["NODE_ENV", "LOG_LEVEL", ...Object.keys(TOKEN_CLAIMS)].map(fromConfig),
          ...(issuer ? [fromConfig("JWKS_URL")] : []),
          ...["NATS_URL", "PUBLIC_URL"].map(fromConfig),
          ...services.map((s) => fromConfig(upstreamVariable(s.name))),
        ],
        // Not /readyz: that one fails while any upstream is down, and taking every gateway pod
        // out of its Service would turn one service's outage into the whole API's.
        readyPath: "/healthz",
        livePath: "/healthz",
      }),
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: {
          name: "gateway",
          namespace: NAMESPACE,
          labels: { "app.kubernetes.io/name": "gateway" },
        },
        spec: {
          ingressClassName: "nginx",
          tls: [{ hosts: ["api.example.com"], secretName: "portico-gateway-tls" }],
          rules: [
            {
              host: "api.example.com",
              http: {
                paths: [
                  {
                    path: "/",
                    pathType: "Prefix",
                    backend: { service: { name: "gateway", port: { name: "http" } } },
                  },
                ],
              },
            },
          ],
        },
      },
    ]),
  );

  files.set("SECRETS.md", secretsGuide(services));

  const workloads = [
    ...services.map((s) => ({ name: s.name, version: versionOf(s) })),
    { name: "gateway", version: gatewayVersion },
  ];
  files.set(
    "kustomization.yaml",
    documents(
      `${generatedHeader("Portico on Kubernetes: `kubectl apply -k deploy/k8s`.")}
# Create the Secrets listed in docs/deployment.md first. NATS (JetStream, 3-node cluster) and
# PostgreSQL are external dependencies. Point the images at your registry and release, e.g.
#   kustomize edit set image portico/<service>=registry.example.com/portico/<service>:1.2.3`,
      [
        {
          apiVersion: "kustomize.config.k8s.io/v1beta1",
          kind: "Kustomization",
          namespace: NAMESPACE,
          labels: [{ pairs: { "app.kubernetes.io/part-of": NAMESPACE } }],
          resources: ["namespace.yaml", "config.yaml", ...workloads.map((w) => `${w.name}.yaml`)],
          images: workloads.map((w) => ({ name: `portico/${w.name}`, newTag: w.version })),
        },
      ],
    ),
  );
  return files;
}
