/**
 * The Kubernetes manifests (deploy/k8s) cannot be applied here (no cluster), so they are checked
 * statically: every object against the Kubernetes API schemas (kubernetes-models' validators,
 * offline), and against the repository — each Deployment's variables against what its service's
 * config reads, images and ports against the Dockerfiles and package versions, probes, Services,
 * disruption budgets, and the Secrets the documentation tells an operator to create.
 *
 * The Kubernetes OpenAPI schemas accept unknown fields (the API server rejects them only with
 * strict field validation), so the fields that matter are asserted one by one below.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { gatewayConfigShape } from "../../gateway/src/config.js";
import { providerOf, upstreamVariable } from "../src/services/declarations.js";
import { secretSample } from "./secret-samples.js";
import { serviceConfigs } from "./service-configs.js";

const root = resolve(import.meta.dirname, "../..");
const k8sDir = join(root, "deploy", "k8s");

/** A Kubernetes object as parsed from YAML (fields read by the checks below). */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}

interface Probe {
  httpGet?: { path: string; port: string | number };
}

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}

interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}

/** The kubernetes-models class validating each kind used here. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": Ingress,
};

const manifestFiles = readdirSync(k8sDir)
  .filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
  .sort();
const objects: K8sObject[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), "utf8")).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  }),
);
const kustomization = parseAllDocuments(
  readFileSync(join(k8sDir, "kustomization.yaml"), "utf8"),
)[0]?.toJS() as {
  namespace: string;
  resources: string[];
  images: { name: string; newTag: string }[];
};

const named = (kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const config = named("ConfigMap", "portico-config") as K8sObject;

const configs = await serviceConfigs();
const declarations = Object.values(configs).map((c) => c.declaration);

/** What each Deployment runs: its config shape, port, readiness path and folder. */
const SERVICES: Record<
  string,
  { shape: z.ZodRawShape; port: number; readyPath: string; dir: string }
> = {
  ...Object.fromEntries(
    Object.entries(configs).map(([name, { shape, declaration }]) => [
      name,
      { shape, port: declaration.port, readyPath: declaration.readyPath, dir: declaration.dir },
    ]),
  ),
  gateway: {
    shape: {
      ...gatewayConfigShape,
      ...Object.fromEntries(declarations.map((d) => [upstreamVariable(d.name), z.string()])),
    },
    port: 8080,
    // An upstream outage must not take the edge out of its Service (see gateway.yaml).
    readyPath: "/healthz",
    dir: "gateway",
  },
};
/** Variables that come from Secrets, never from the ConfigMap. */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "SMTP_URL",
  ...declarations.flatMap((d) => d.secrets),
]);
function deploymentOf(name: string) {
  const deployment = named("Deployment", name);
  const spec = deployment?.spec as
    | {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
      }
    | undefined;
  if (!spec) throw new Error(`no Deployment ${name}`);
  const container = spec.template.spec.containers[0] as Container;
  return { spec, pod: spec.template.spec, container };
}

/** The Deployment's environment with ConfigMap values and Secret stand-ins filled in. */
function resolvedEnv(container: Container): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((variable) => {
      const fromConfig = variable.valueFrom?.configMapKeyRef;
      const fromSecret = variable.valueFrom?.secretKeyRef;
      const value = fromConfig
        ? config.data?.[fromConfig.key]
        : fromSecret
          ? secretSample(fromSecret.key)
          : variable.value;
      return [variable.name, value ?? ""];
    }),
  );
}

describe("deploy/k8s manifests", () => {
  it("lists every manifest in the kustomization, which sets the namespace", () => {
    expect([...kustomization.resources].sort()).toEqual(manifestFiles);
    expect(kustomization.namespace).toBe("portico");
    for (const object of objects) {
      if (object.kind !== "Namespace") expect(object.metadata.namespace).toBe("portico");
    }
  });

  it.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    "%s is valid against the Kubernetes API schema",
    (_name, object) => {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model).toBeDefined();
      expect(() =>
        new (Model as NonNullable<typeof Model>)(object as never).validate(),
      ).not.toThrow();
    },
  );

  it("has a validator that rejects a malformed Deployment", () => {
    const { spec } = deploymentOf("gateway");
    const broken = { ...named("Deployment", "gateway"), spec: { ...spec, replicas: "two" } };

    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas must be integer/);
  });

  it("runs every service and the gateway", () => {
    const deployments = objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);
    expect(deployments.sort()).toEqual(Object.keys(SERVICES).sort());
  });
});

describe.each(Object.entries(SERVICES))("the %s Deployment", (name, service) => {
  const { spec, pod, container } = deploymentOf(name);
  const port = container.ports?.find((p) => p.name === "http");

  it("runs 2 replicas (when replicable) behind a Service and a disruption budget", () => {
    if (name in configs && !configs[name]?.declaration.replicable) {
      expect(spec.replicas).toBe(1);
      return;
    }
    expect(spec.replicas).toBe(2);
    expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
    const svc = named("Service", name)?.spec as {
      selector: Record<string, string>;
      ports: { port: number; targetPort: string }[];
    };
    expect(svc.selector).toEqual(spec.selector.matchLabels);
    expect(svc.ports).toEqual([
      expect.objectContaining({ port: port?.containerPort, targetPort: "http" }),
    ]);
    const pdb = named("PodDisruptionBudget", name)?.spec as {
      minAvailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(pdb.selector.matchLabels).toEqual(spec.selector.matchLabels);
    expect(pdb.minAvailable).toBeLessThan(spec.replicas);
  });

  it("runs as non-root with a read-only root filesystem, no privilege escalation, no capabilities", () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("requests CPU and memory and limits memory", () => {
    expect(container.resources?.requests).toEqual({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it("runs the image its Dockerfile builds, at the package's version, on the port it exposes", () => {
    const folder = service.dir;
    const dockerfile = readFileSync(join(root, folder, "Dockerfile"), "utf8");
    // A Python service's version is in its pyproject.toml, the others' in package.json.
    const version = !existsSync(join(root, folder, "package.json"))
      ? /^version = "([^"]+)"$/m.exec(
          readFileSync(join(root, folder, "pyproject.toml"), "utf8"),
        )?.[1]
      : JSON.parse(readFileSync(join(root, folder, "package.json"), "utf8")).version;

    expect(dockerfile).toContain(`-t portico/${name} `);
    expect(container.image).toBe(`portico/${name}:${version}`);
    expect(kustomization.images).toContainEqual({ name: `portico/${name}`, newTag: version });
    expect(port?.containerPort).toBe(service.port);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${service.port}$`, "m"));
    expect(resolvedEnv(container).PORT).toBe(String(service.port));
    // Inside a pod the process must listen on every interface, not the loopback default.
    expect(resolvedEnv(container).HOST).toBe("0.0.0.0");
  });

  it("probes liveness on /healthz and readiness on its readiness path, on the http port", () => {
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: service.readyPath, port: "http" });
  });

  it("sets only variables its config reads, from the ConfigMap or a Secret", () => {
    const names = (container.env ?? []).map((v) => v.name);
    expect(names.filter((n) => !(n in service.shape))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
    for (const variable of container.env ?? []) {
      const fromConfig = variable.valueFrom?.configMapKeyRef;
      const fromSecret = variable.valueFrom?.secretKeyRef;
      if (fromConfig) {
        expect([variable.name, fromConfig.name]).toEqual([variable.name, "portico-config"]);
        expect([variable.name, config.data?.[fromConfig.key] !== undefined]).toEqual([
          variable.name,
          true,
        ]);
      }
      expect([variable.name, fromSecret !== undefined]).toEqual([
        variable.name,
        SECRET_VARIABLES.has(variable.name),
      ]);
    }
  });

  it("gets a configuration its schema accepts", () => {
    const result = z.object(service.shape).safeParse(resolvedEnv(container));
    expect(result.error?.issues ?? []).toEqual([]);
  });
});

describe("configuration across the manifests", () => {
  const data = config.data ?? {};

  it("keeps secrets out of the ConfigMap", () => {
    expect(Object.keys(data).filter((key) => SECRET_VARIABLES.has(key))).toEqual([]);
  });

  it.each(Object.keys(configs))("gives %s a configuration the service itself accepts", (name) => {
    const env = resolvedEnv(deploymentOf(name).container);
    expect(env.NODE_ENV).toBe("production");
    expect(configs[name]?.problems(env)).toBe("");
  });

  it("keeps as many stream replicas as NATS nodes it lists, at most", () => {
    const nodes = (data.NATS_URL ?? "").split(",").filter(Boolean);
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    expect(Number(data.NATS_STREAM_REPLICAS)).toBeLessThanOrEqual(nodes.length);
    expect(Number(data.NATS_STREAM_REPLICAS)).toBe(3);
  });

  it("points the gateway's upstreams and the JWK Set at the services' Services and ports", () => {
    for (const service of Object.keys(configs)) {
      const url = new URL(data[upstreamVariable(service)] ?? "");
      const svc = named("Service", service)?.spec as { ports: { port: number }[] } | undefined;
      expect([service, url.hostname.split(".")[0], Number(url.port)]).toEqual([
        service,
        service,
        svc?.ports[0]?.port,
      ]);
    }
    const issuer = providerOf(declarations, "JWKS_URL");
    const jwks = new URL(data.JWKS_URL ?? "");
    expect(jwks.hostname.split(".")[0]).toBe(issuer?.service.name);
    expect(jwks.pathname).toBe(issuer?.path);
  });

  it("routes the Ingress to the gateway Service only", () => {
    const ingresses = objects.filter((o) => o.kind === "Ingress");
    const spec = ingresses[0]?.spec as {
      defaultBackend?: unknown;
      rules: { http: { paths: { backend: { service: unknown } }[] } }[];
    };
    const backends = spec.rules.flatMap((rule) => rule.http.paths.map((p) => p.backend.service));

    expect(ingresses).toHaveLength(1);
    expect(spec.defaultBackend).toBeUndefined();
    expect(backends).toEqual([{ name: "gateway", port: { name: "http" } }]);
  });

  it("documents how to create every Secret the Deployments reference", () => {
    const docs = readFileSync(join(k8sDir, "SECRETS.md"), "utf8");
    const refs = objects
      .filter((o) => o.kind === "Deployment")
      .flatMap((o) => deploymentOf(o.metadata.name).container.env ?? [])
      .flatMap((v) => (v.valueFrom?.secretKeyRef ? [v.valueFrom.secretKeyRef] : []));
    expect(refs.length).toBeGreaterThan(0);
    for (const { name, key } of refs) {
      const documented =
        docs.includes(`secret generic ${name} `) &&
        new RegExp(`--from-(literal|file)=${key}=`).test(docs);
      expect([name, key, documented]).toEqual([name, key, true]);
    }
    expect(existsSync(join(root, "deploy", "nats", "values.yaml"))).toBe(true);
  });
});
