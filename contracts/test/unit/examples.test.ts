/**
 * Every example in the public document is valid against the schema it illustrates: request
 * bodies, responses, parameters and headers of every operation, and the schemas' own
 * `examples`. The mock server (`npm run mock`, Prism) answers with these examples, so an
 * invalid one would make the mock lie to the teams building against it.
 */
import { describe, expect, it } from "@jest/globals";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { loadContract } from "../../src/index.js";
import { documentOperations } from "../../src/operations.js";

type Node = Record<string, unknown>;

const document = loadContract("public") as Node & {
  paths: Record<string, Record<string, Node>>;
  components: Record<string, Record<string, Node>>;
};

/** One example and the schema it must satisfy, both as JSON Pointers into the document. */
interface ExampleCase {
  where: string;
  schemaPointer: string;
  value: unknown;
}

/**
 * The events of a Server-Sent Events text (WHATWG HTML, "Server-sent events"): a
 * `text/event-stream` example shows the stream as sent, while its schema describes one event
 * (`event`, `id`, `data` as text). Blocks without `data` (a lone `retry:`) dispatch nothing.
 */
function serverSentEvents(text: string): Record<string, string>[] {
  return text
    .split(/\n\n+/)
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split("\n")) {
        const match = /^([a-z]+): ?(.*)$/.exec(line);
        if (match?.[1] && match[2] !== undefined) fields[match[1]] = match[2];
      }
      delete fields.retry;
      return fields;
    })
    .filter((fields) => "data" in fields);
}

/** Escapes one reference token of a JSON Pointer (RFC 6901 section 3). */
const token = (key: string) => key.replaceAll("~", "~0").replaceAll("/", "~1");

/** Follows a local `$ref` (`#/components/...`): the pointer and the object it names. */
function resolve(pointer: string, node: Node): [string, Node] {
  const ref = node.$ref;
  if (typeof ref !== "string") return [pointer, node];
  const target = ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>((at, part) => (at as Node)[part], document) as Node;
  return resolve(ref.slice(1), target);
}

/** The examples of an object carrying `schema` plus `example` or `examples` (OpenAPI 3.1). */
function examplesOf(where: string, pointer: string, holder: Node): ExampleCase[] {
  const [at, node] = resolve(pointer, holder);
  if (!node.schema) return [];
  const schemaPointer = `${at}/schema`;
  const cases: ExampleCase[] = [];
  if ("example" in node) cases.push({ where, schemaPointer, value: node.example });
  for (const [name, example] of Object.entries((node.examples ?? {}) as Record<string, Node>)) {
    const [, resolved] = resolve("", example);
    if ("value" in resolved) {
      cases.push({ where: `${where} example "${name}"`, schemaPointer, value: resolved.value });
    }
  }
  return cases;
}

/** Every media type of a request body or response, and its headers. */
function contentExamples(where: string, pointer: string, holder: Node): ExampleCase[] {
  const [at, node] = resolve(pointer, holder);
  const cases: ExampleCase[] = [];
  for (const [type, media] of Object.entries((node.content ?? {}) as Record<string, Node>)) {
    const examples = examplesOf(`${where} ${type}`, `${at}/content/${token(type)}`, media);
    if (type !== "text/event-stream") cases.push(...examples);
    else {
      for (const example of examples) {
        const events = serverSentEvents(String(example.value));
        expect(events.length).toBeGreaterThan(0);
        cases.push(
          ...events.map((value, i) => ({
            ...example,
            where: `${example.where} event ${i}`,
            value,
          })),
        );
      }
    }
  }
  for (const [name, header] of Object.entries((node.headers ?? {}) as Record<string, Node>)) {
    cases.push(...examplesOf(`${where} header ${name}`, `${at}/headers/${token(name)}`, header));
  }
  return cases;
}

/** How a case names its operation: `getProduct (GET /products/{productId})`. */
function operationName(method: string, path: string, operation: Node): string {
  return `${operation.operationId as string} (${method.toUpperCase()} ${path})`;
}

function collectExamples(): ExampleCase[] {
  const cases: ExampleCase[] = [];
  for (const { method, template: path, pathItem: item, operation } of documentOperations(
    document,
  )) {
    const itemPointer = `/paths/${token(path)}`;
    const name = operationName(method, path, operation);
    const opPointer = `${itemPointer}/${method}`;
    const parameters = [
      ...((item.parameters ?? []) as Node[]).map((p, i) => [`${itemPointer}/parameters/${i}`, p]),
      ...((operation.parameters ?? []) as Node[]).map((p, i) => [
        `${opPointer}/parameters/${i}`,
        p,
      ]),
    ] as [string, Node][];
    for (const [pointer, parameter] of parameters) {
      const [, resolved] = resolve(pointer, parameter);
      cases.push(...examplesOf(`${name} parameter ${resolved.name as string}`, pointer, parameter));
    }
    if (operation.requestBody) {
      cases.push(
        ...contentExamples(
          `${name} request`,
          `${opPointer}/requestBody`,
          operation.requestBody as Node,
        ),
      );
    }
    for (const [status, response] of Object.entries(operation.responses as Record<string, Node>)) {
      cases.push(
        ...contentExamples(`${name} ${status}`, `${opPointer}/responses/${status}`, response),
      );
    }
  }
  for (const [name, schema] of Object.entries(document.components.schemas ?? {})) {
    for (const [i, value] of ((schema.examples ?? []) as unknown[]).entries()) {
      cases.push({
        where: `schema ${name} examples[${i}]`,
        schemaPointer: `/components/schemas/${token(name)}`,
        value,
      });
    }
  }
  return cases;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, "public");

const cases = collectExamples();

describe("the public document's examples", () => {
  it("include an example for every operation's successful response that has a body", () => {
    const withoutExample: string[] = [];
    for (const { method, template: path, operation } of documentOperations(document)) {
      const name = operationName(method, path, operation);
      for (const [status, response] of Object.entries(
        operation.responses as Record<string, Node>,
      )) {
        const [, resolved] = resolve("", response);
        if (!status.startsWith("2") || !resolved.content) continue;
        if (!cases.some((c) => c.where.startsWith(`${name} ${status} `))) {
          withoutExample.push(`${name} ${status}`);
        }
      }
    }
    expect(withoutExample).toEqual([]);
  });

  it("are each valid against the schema they illustrate", () => {
    const invalid = cases.flatMap(({ where, schemaPointer, value }) => {
      const validate = ajv.compile({ $ref: `public#${encodeURI(schemaPointer)}` });
      if (validate(value)) return [];
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
      return [`${where}: ${errors.join("; ")}`];
    });
    expect(invalid).toEqual([]);
    expect(cases.length).toBeGreaterThan(50);
  });
});
