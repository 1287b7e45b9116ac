/**
 * What the breaking-change gate compares, built from a folder of contracts (`contracts/` or a
 * copy of it): the public API document, and the event payloads as a synthetic OpenAPI
 * document so that one OpenAPI diff engine judges both.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { withoutPlatformKeys } from "@portico/contracts";
import { parse } from "yaml";
import { loadAsyncApi } from "../generate/asyncapi.js";
import { bundleContract, mergePublicDocument, type OpenApiDocument } from "../generate/bundle.js";
import { readEventsModel } from "../generate/event-model.js";

/** One compared document: its file name in the released baseline and how to build it. */
export interface Snapshot {
  /** File name under `contracts/released/`, e.g. `public.openapi.json`. */
  file: string;
  /** What it covers, as messages name it. */
  label: string;
  build(contractsDir: string): Promise<OpenApiDocument>;
}

/** The HTTP contracts of a folder: every `*.yaml` that is an OpenAPI document with `paths`. */
async function httpContracts(contractsDir: string): Promise<string[]> {
  const names = (await readdir(contractsDir)).filter((name) => name.endsWith(".yaml")).sort();
  const contracts: string[] = [];
  for (const name of names) {
    const doc = parse(await readFile(join(contractsDir, name), "utf8")) as Record<string, unknown>;
    if (typeof doc?.openapi === "string" && doc.paths) contracts.push(name);
  }
  return contracts;
}

/**
 * The public API as consumers see it: every HTTP contract of the folder bundled and merged as
 * the gateway serves it (`mergePublicDocument`), without platform extensions.
 * @throws Error when a contract does not bundle or two contracts collide.
 */
export async function buildPublicSnapshot(contractsDir: string): Promise<OpenApiDocument> {
  const bundles: Record<string, OpenApiDocument> = {};
  for (const name of await httpContracts(contractsDir)) {
    bundles[name.replace(/\.yaml$/, "")] = await bundleContract(join(contractsDir, name));
  }
  const merged = mergePublicDocument(bundles, { title: "Portico API", version: "current" }, []);
  return withoutPlatformKeys(merged);
}

/**
 * The event contract (`events.yaml`, AsyncAPI 3.0) as OpenAPI 3.1, so that an OpenAPI diff
 * engine applies its rules to the event payloads: each event is `POST /<subject>` whose request
 * body and 200 response are both the event's envelope schema. A consumer reads an event as a
 * client reads a response (a removed or narrowed field breaks it); a publisher writes it as a
 * client writes a request (a new required field breaks it). Schemas keep their
 * `#/components/schemas/...` references, which resolve in the same place in the new document.
 * @throws Error when events.yaml is not a valid AsyncAPI document.
 */
export async function buildEventsSnapshot(contractsDir: string): Promise<OpenApiDocument> {
  const asyncApi = await loadAsyncApi(join(contractsDir, "events.yaml"));
  const model = readEventsModel(asyncApi);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const event of model.events) {
    const content = { "application/json": { schema: event.envelope } };
    paths[`/${event.subject}`] = {
      post: {
        operationId: event.subject,
        summary: event.summary,
        requestBody: { required: true, content },
        responses: { "200": { description: "The event as consumers receive it.", content } },
      },
    };
  }
  return withoutPlatformKeys({
    openapi: "3.1.0",
    info: { title: `${asyncApi.info.title} (event payloads)`, version: asyncApi.info.version },
    paths,
    components: { schemas: asyncApi.components.schemas ?? {} },
  });
}

/** The file name of the event payloads' snapshot. */
export const EVENTS_SNAPSHOT = "events.openapi.json";

/** Everything the gate compares, in the order it reports. */
export const SNAPSHOTS: readonly Snapshot[] = [
  { file: "public.openapi.json", label: "public API", build: buildPublicSnapshot },
  { file: EVENTS_SNAPSHOT, label: "event payloads", build: buildEventsSnapshot },
];

/** A snapshot as written to disk: stable, pretty JSON with a trailing newline. */
export function snapshotText(doc: OpenApiDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
