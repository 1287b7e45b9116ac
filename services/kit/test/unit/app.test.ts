import { describe, expect, it } from "@jest/globals";
import { error as validatorError } from "express-openapi-validator";
import {
  assertHandlersMatch,
  operationIds,
  REQUEST_ID_HEADER,
  requestIdOf,
  toProblem,
} from "../../src/app.js";
import { conflict, HttpProblem } from "../../src/problem.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An error shaped like body-parser's (http-errors with a `type`). */
function bodyParserError(type: string, status: number): Error {
  return Object.assign(new Error(`body-parser: ${type}`), { type, status, expose: true });
}

describe("toProblem", () => {
  it("passes an HttpProblem through unchanged", () => {
    const problem = conflict("The email is taken.");
    expect(toProblem(problem)).toEqual({ problem, unexpected: false });
  });

  it.each([
    ["entity.parse.failed", 400, 400, "The request body is not valid JSON."],
    ["entity.verify.failed", 403, 400, "The request body could not be verified."],
    ["request.aborted", 400, 400, "The request was aborted."],
    ["entity.too.large", 413, 413, "The request body is too large."],
    ["encoding.unsupported", 415, 415, "The request body's content encoding is not supported."],
    ["charset.unsupported", 415, 415, "The request body's charset is not supported."],
  ])("maps the body-parser error %s to %i → %i", (type, given, status, detail) => {
    const { problem, unexpected } = toProblem(bodyParserError(type, given));
    expect(unexpected).toBe(false);
    expect(problem.status).toBe(status);
    expect(problem.message).toBe(detail);
    if (status === 400) {
      expect(problem.errors).toEqual([{ location: "body", field: "", message: detail }]);
    } else {
      expect(problem.errors).toBeUndefined();
    }
  });

  it("turns the validator's errors[] into field errors and a detail naming each field", () => {
    const err = new validatorError.BadRequest({
      path: "/body/price/amount",
      message: "request/body/price/amount must be integer",
      errors: [
        { path: "/body/price/amount", message: "must be integer" },
        { path: "/query/limit", message: "must be <= 100" },
        { path: "/params/productId", message: 'must match format "uuid"' },
      ],
    });
    const { problem, unexpected } = toProblem(err);
    expect(unexpected).toBe(false);
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      { location: "body", field: "price.amount", message: "must be integer" },
      { location: "query", field: "limit", message: "must be <= 100" },
      { location: "path", field: "productId", message: 'must match format "uuid"' },
    ]);
    expect(problem.message).toBe(
      'Invalid request: body.price.amount must be integer; query.limit must be <= 100; path.productId must match format "uuid"',
    );
  });

  it("gives a field error without a message a default one", () => {
    const { problem } = toProblem({ status: 400, errors: [{ path: "/body/name" }] });
    expect(problem.errors).toEqual([{ location: "body", field: "name", message: "is invalid" }]);
  });

  it("keeps other 4xx statuses with the validator's message, capitalised, and its headers", () => {
    const err = new validatorError.MethodNotAllowed({
      path: "/widgets",
      message: "DELETE method not allowed",
      headers: { Allow: "GET, POST" },
    });
    const { problem, unexpected } = toProblem(err);
    expect(unexpected).toBe(false);
    expect(problem.status).toBe(405);
    expect(problem.message).toBe("DELETE method not allowed.");
    expect(problem.headers).toEqual({ Allow: "GET, POST" });
    expect(problem.errors).toBeUndefined();
  });

  it("adds the Bearer challenge to a 401 the validator rebuilt without headers", () => {
    const { problem } = toProblem(
      new validatorError.Unauthorized({ path: "/widgets", message: "unauthorized" }),
    );
    expect(problem.status).toBe(401);
    expect(problem.headers["WWW-Authenticate"]).toBe('Bearer realm="portico"');
  });

  it("turns an unknown error into a 500 whose detail leaks nothing", () => {
    const secret = new Error("connect ECONNREFUSED 10.0.0.7:5432 password=hunter2");
    const { problem, unexpected } = toProblem(secret);
    expect(unexpected).toBe(true);
    expect(problem.status).toBe(500);
    expect(problem.message).toBe("An unexpected error occurred.");
    const body = JSON.stringify(problem.toBody("/widgets"));
    expect(body).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|hunter2|5432/);
  });

  it.each([undefined, null, "a string", 42])("treats the thrown value %p as unexpected", (v) => {
    const { problem, unexpected } = toProblem(v);
    expect(unexpected).toBe(true);
    expect(problem.status).toBe(500);
  });

  it("keeps a 5xx status other than 500 but still hides its message", () => {
    const { problem, unexpected } = toProblem({ status: 503, message: "pool exhausted" });
    expect(unexpected).toBe(true);
    expect(problem.status).toBe(503);
    expect(problem.message).toBe("An unexpected error occurred.");
  });

  it.each([
    ["a response field that fails its schema", "/response/price must be integer", "/widgets"],
    [
      "a response body that fails its schema as a whole",
      "/response must NOT have additional properties",
      "/widgets",
    ],
    ["a required response body that is missing", "response body required.", "/response"],
    ["a body on a response that declares none", "response should NOT have a body", "/response"],
    [
      "a status the operation does not declare",
      "no schema defined for status code '201' in the openapi spec",
      "/widgets",
    ],
  ])("says the service broke its contract for %s", (_case, message, path) => {
    const { problem, unexpected } = toProblem(
      new validatorError.InternalServerError({ path, message }),
    );
    expect(unexpected).toBe(true);
    expect(problem.status).toBe(500);
    expect(problem.message).toBe("The service produced a response that breaks its contract.");
  });

  it("never returns a 4xx HttpProblem for an unexpected error", () => {
    const { problem } = toProblem(new TypeError("x is undefined"));
    expect(problem).toBeInstanceOf(HttpProblem);
    expect(problem.status).toBeGreaterThanOrEqual(500);
  });
});

describe("requestIdOf", () => {
  const headers = (id: string | string[] | undefined) => ({ headers: { [REQUEST_ID_HEADER]: id } });

  it.each(["req-1", "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10", "svc:trace.42_a", "a".repeat(128)])(
    "accepts the well-formed id %s",
    (id) => {
      expect(requestIdOf(headers(id))).toBe(id);
    },
  );

  it.each([
    ["a header injection", "abc\r\nSet-Cookie: x=1"],
    ["markup", "<script>alert(1)</script>"],
    ["spaces", "req 1"],
    ["an overlong id", "a".repeat(129)],
    ["an empty id", ""],
  ])("replaces %s with a new UUID", (_case, id) => {
    const replaced = requestIdOf(headers(id));
    expect(replaced).not.toBe(id);
    expect(replaced).toMatch(UUID);
  });

  it("generates a UUID when the header is missing or repeated", () => {
    expect(requestIdOf(headers(undefined))).toMatch(UUID);
    expect(requestIdOf(headers(["a", "b"]))).toMatch(UUID);
    expect(requestIdOf(headers(undefined))).not.toBe(requestIdOf(headers(undefined)));
  });
});

describe("operationIds and assertHandlersMatch", () => {
  const contract = {
    paths: {
      "/widgets": {
        parameters: [],
        get: { operationId: "listWidgets" },
        post: { operationId: "createWidget" },
      },
      "/widgets/{id}": { get: { operationId: "getWidget" }, delete: {} },
    },
  };
  const handler = async () => ({ status: 200 });

  it("lists the operationIds in document order, skipping non-operations", () => {
    expect(operationIds(contract)).toEqual(["listWidgets", "createWidget", "getWidget"]);
    expect(operationIds({})).toEqual([]);
  });

  it("accepts a handler map that covers the contract exactly", () => {
    expect(() =>
      assertHandlersMatch(contract, {
        listWidgets: handler,
        createWidget: handler,
        getWidget: handler,
      }),
    ).not.toThrow();
  });

  it("names each operationId without a handler", () => {
    expect(() => assertHandlersMatch(contract, { listWidgets: handler })).toThrow(
      "no handler for operationId createWidget, getWidget",
    );
  });

  it("names each handler without an operation", () => {
    expect(() =>
      assertHandlersMatch(contract, {
        listWidgets: handler,
        createWidget: handler,
        getWidget: handler,
        deleteWidget: handler,
      }),
    ).toThrow("handler for unknown operationId deleteWidget");
  });

  it("names both kinds of mismatch in one message", () => {
    expect(() =>
      assertHandlersMatch(contract, { listWidgets: handler, getWidgets: handler }),
    ).toThrow(
      "no handler for operationId createWidget, getWidget; handler for unknown operationId getWidgets",
    );
  });
});
