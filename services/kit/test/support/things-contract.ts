/**
 * A second small contract for kit tests, for what the widgets contract does not declare: a
 * default behind a `$ref`, a header parameter with a default, body defaults, a body optional by
 * `required: false`. Every response is any JSON object.
 */

const anyObject = {
  description: "Any object.",
  content: { "application/json": { schema: { type: "object" } } },
};

/** The contract document: plain JSON like `loadContract` returns. */
export const thingsContract: Record<string, unknown> = {
  openapi: "3.1.0",
  info: { title: "Things (kit test)", version: "1.0.0" },
  paths: {
    "/things/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" } }],
      get: {
        operationId: "getThing",
        parameters: [
          { name: "limit", in: "query", schema: { $ref: "#/components/schemas/Limit" } },
          { name: "q", in: "query", schema: { type: "string", maxLength: 20 } },
          { name: "X-Page", in: "header", schema: { type: "integer", default: 1 } },
        ],
        responses: { "200": anyObject },
      },
      put: {
        operationId: "putThing",
        requestBody: {
          content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } },
        },
        responses: { "200": anyObject },
      },
      post: {
        operationId: "touchThing",
        requestBody: {
          required: false,
          content: { "application/json": { schema: { type: "object" } } },
        },
        responses: { "200": anyObject },
      },
    },
  },
  components: {
    schemas: {
      Limit: { type: "integer", minimum: 1, maximum: 100, default: 20 },
      Thing: {
        type: "object",
        additionalProperties: false,
        properties: { name: { type: "string" }, colour: { type: "string", default: "red" } },
      },
    },
  },
};

/** The operations of {@link thingsContract}, as the kit's app takes them. */
export const thingsOperations = [
  { method: "GET", template: "/things/{id}", operationId: "getThing" },
  { method: "PUT", template: "/things/{id}", operationId: "putThing" },
  { method: "POST", template: "/things/{id}", operationId: "touchThing" },
];
