import { isDeepStrictEqual } from "node:util";
import { isOperationMethod } from "@portico/contracts/operations";
import { bundle, loadConfig } from "@redocly/openapi-core";

/** An OpenAPI 3.1 document as plain JSON. Only the parts the generator reads are typed. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [key: string]: unknown };
  servers?: unknown[];
  tags?: { name: string; [key: string]: unknown }[];
  security?: unknown[];
  paths?: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/**
 * Bundles one contract and the files it references into a single self-contained document:
 * external `$ref`s become local `#/components/...` refs (Redocly's bundler).
 * @param file absolute path of the contract (YAML).
 * @throws Error when a reference cannot be resolved.
 */
export async function bundleContract(file: string): Promise<OpenApiDocument> {
  const config = await loadConfig({});
  const result = await bundle({ ref: file, config, dereference: false });
  const unresolved = result.problems.filter((p) => p.severity === "error");
  if (unresolved.length > 0) {
    throw new Error(`${file}: ${unresolved.map((p) => p.message).join("; ")}`);
  }
  return result.bundle.parsed as OpenApiDocument;
}

/**
 * Merges service contracts into the one public API document the gateway serves.
 * Each operation is tagged `x-portico-service: <service>` (the gateway's route table reads it),
 * and inherits its own document's top-level `security` so that moving it loses nothing.
 * @param services bundled contracts keyed by service name.
 * @throws Error when two contracts declare the same path and method, or the same component
 *   name with different content (the public API must stay unambiguous).
 */
export function mergePublicDocument(
  services: Record<string, OpenApiDocument>,
  info: OpenApiDocument["info"],
  servers: unknown[],
): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, Record<string, unknown>> = {};
  const tags: { name: string; [key: string]: unknown }[] = [];
  for (const [service, doc] of Object.entries(services)) {
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      paths[path] ??= {};
      const target = paths[path];
      for (const [key, value] of Object.entries(item)) {
        if (!isOperationMethod(key)) {
          if (key in target && !isDeepStrictEqual(target[key], value)) {
            throw new Error(`${service}: path ${path} redefines "${key}" differently`);
          }
          target[key] = value;
          continue;
        }
        if (key in target)
          throw new Error(`${service}: ${key.toUpperCase()} ${path} is declared twice`);
        const operation = value as Record<string, unknown>;
        target[key] = {
          ...operation,
          security: operation.security ?? doc.security ?? [],
          "x-portico-service": service,
        };
      }
    }
    for (const [section, entries] of Object.entries(doc.components ?? {})) {
      components[section] ??= {};
      const target = components[section];
      for (const [name, value] of Object.entries(entries)) {
        if (name in target && !isDeepStrictEqual(target[name], value)) {
          throw new Error(
            `${service}: components.${section}.${name} differs from another contract's`,
          );
        }
        target[name] = value;
      }
    }
    for (const tag of doc.tags ?? []) {
      if (!tags.some((t) => t.name === tag.name)) tags.push(tag);
    }
  }
  return { openapi: "3.1.0", info, servers, tags, paths, components };
}
