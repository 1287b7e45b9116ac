import { describe, expect, it } from "@jest/globals";
import {
  deriveExpectations,
  describeExpectations,
  type OpenApiDocument,
  renderOperationsToml,
} from "../../src/fuzz/expected-statuses.js";

const ok = { description: "ok", content: { "application/json": {} } };
const declared = (...statuses: string[]) =>
  Object.fromEntries(statuses.map((status) => [status, { description: status }]));

/** A small contract with one operation per case of the rule; bearer auth unless said otherwise. */
const contract: OpenApiDocument = {
  security: [{ bearerAuth: [] }],
  components: {
    parameters: { ThingId: { name: "id", in: "path", required: true } },
    responses: { Stream: { description: "events", content: { "text/event-stream": {} } } },
  },
  paths: {
    "/things": {
      get: {
        operationId: "listThings",
        security: [],
        responses: { "200": ok, ...declared("304", "400") },
      },
      post: {
        operationId: "createThing",
        responses: { "201": ok, ...declared("400", "401", "403", "409", "422", "503") },
      },
    },
    "/things/{id}": {
      parameters: [{ $ref: "#/components/parameters/ThingId" }],
      get: { operationId: "getThing", responses: { "200": ok, ...declared("304", "401", "404") } },
      delete: { operationId: "deleteThing", responses: { "204": ok, ...declared("304", "404") } },
    },
    "/me": {
      get: { operationId: "getMe", responses: { "200": ok, ...declared("401", "404") } },
    },
    "/sign-in": {
      post: {
        operationId: "signIn",
        security: [{}],
        responses: { "200": ok, ...declared("400", "401", "429") },
      },
    },
    "/feed": {
      get: {
        operationId: "streamFeed",
        responses: { "200": { $ref: "#/components/responses/Stream" }, ...declared("400", "431") },
      },
    },
    "/plain": {
      get: { operationId: "getPlain", responses: { "200": ok, ...declared("400", "401") } },
    },
  },
};

describe("deriveExpectations", () => {
  const byId = Object.fromEntries(
    deriveExpectations(contract).map((entry) => [entry.operationId, entry]),
  );

  it("accepts 304 from conditional GETs only", () => {
    expect(byId.listThings?.validAlso).toEqual(["304"]);
    expect(byId.deleteThing?.validAlso).toEqual(["404"]);
  });

  it("accepts a declared 404 only where a path parameter (also a path-level $ref) names a resource", () => {
    expect(byId.getThing?.validAlso).toEqual(["304", "404"]);
    expect(byId.getMe).toBeUndefined();
  });

  it("accepts declared 409 and 422, never 400, 401, 403 or 5xx, where security is required", () => {
    expect(byId.createThing?.validAlso).toEqual(["409", "422"]);
  });

  it("accepts declared 401 and 429 from operations that take no credentials", () => {
    expect(byId.signIn?.validAlso).toEqual(["401", "429"]);
  });

  it("reads one event from a text/event-stream answer and accepts a declared 431 to invalid requests", () => {
    expect(byId.streamFeed).toEqual({
      operationId: "streamFeed",
      validAlso: [],
      invalidAlso: ["431"],
      maxStreamEvents: 1,
    });
  });

  it("leaves out operations the strict defaults fit", () => {
    expect(byId.getPlain).toBeUndefined();
    expect(Object.keys(byId)).toEqual([
      "listThings",
      "createThing",
      "getThing",
      "deleteThing",
      "signIn",
      "streamFeed",
    ]);
  });

  it("refuses an operation without an operationId and a $ref it cannot follow", () => {
    expect(() => deriveExpectations({ paths: { "/x": { get: { responses: {} } } } })).toThrow(
      "GET /x has no operationId",
    );
    expect(() =>
      deriveExpectations({
        paths: {
          "/x/{id}": {
            get: {
              operationId: "x",
              parameters: [{ $ref: "#/nowhere" }],
              responses: declared("404"),
            },
          },
        },
      }),
    ).toThrow("unresolvable $ref #/nowhere");
  });
});

describe("renderOperationsToml", () => {
  it("writes one [[operations]] block per distinct set of settings", () => {
    const toml = renderOperationsToml([
      { operationId: "a", validAlso: ["404"], invalidAlso: [] },
      { operationId: "b", validAlso: ["404"], invalidAlso: [] },
      { operationId: "s", validAlso: [], invalidAlso: ["431"], maxStreamEvents: 1 },
    ]);
    expect(toml).toBe(
      [
        "[[operations]]",
        'include-operation-id = ["a", "b"]',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "404"]',
        "",
        "[[operations]]",
        'include-operation-id = ["s"]',
        "max-stream-events = 1",
        'checks.negative_data_rejection.expected-statuses = ["400", "431"]',
        "",
      ].join("\n"),
    );
    expect(renderOperationsToml([])).toBe("");
  });
});

describe("describeExpectations", () => {
  it("gives one line per operation", () => {
    expect(
      describeExpectations([
        { operationId: "s", validAlso: ["404"], invalidAlso: ["431"], maxStreamEvents: 1 },
      ]),
    ).toEqual(["s: valid 2xx|404, invalid 400|431, stream read to 1 event"]);
  });
});
