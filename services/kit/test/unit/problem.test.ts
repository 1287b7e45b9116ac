import { describe, expect, it } from "@jest/globals";
import {
  badRequest,
  conflict,
  fieldFromPath,
  forbidden,
  HttpProblem,
  notFound,
  PROBLEM_CONTENT_TYPE,
  problemType,
  serviceUnavailable,
  unauthorized,
  unprocessable,
} from "../../src/problem.js";

describe("HttpProblem.toBody", () => {
  it("has the RFC 9457 members, the instance, the request id and the field errors", () => {
    const errors = [{ location: "body" as const, field: "name", message: "is required" }];
    const body = new HttpProblem(400, "The name is missing.", { errors }).toBody(
      "/widgets",
      "req-1",
    );
    expect(body).toEqual({
      type: "https://portico.dev/problems/validation-error",
      title: "Request validation failed",
      status: 400,
      detail: "The name is missing.",
      instance: "/widgets",
      requestId: "req-1",
      errors,
    });
  });

  it("leaves out instance, requestId and errors when there are none", () => {
    const body = new HttpProblem(404).toBody();
    // toStrictEqual: a member present as `undefined` would fail too.
    expect(body).toStrictEqual({
      type: "https://portico.dev/problems/not-found",
      title: "Not Found",
      status: 404,
      detail: "Not Found",
    });
  });

  it("falls back to a generic type and title for a status without its own", () => {
    const problem = new HttpProblem(418, "I am a teapot.");
    expect(problem.toBody()).toMatchObject({
      type: "https://portico.dev/problems/error",
      title: "Error",
      status: 418,
      detail: "I am a teapot.",
    });
    expect(problemType(418)).toBe("https://portico.dev/problems/error");
  });

  it("is an Error whose message is the detail", () => {
    const problem = conflict("The email is taken.");
    expect(problem).toBeInstanceOf(Error);
    expect(problem.message).toBe("The email is taken.");
  });

  it("uses the Problem Details media type", () => {
    expect(PROBLEM_CONTENT_TYPE).toBe("application/problem+json");
  });
});

describe("problem helpers", () => {
  it.each([
    ["badRequest", 400, "validation-error", badRequest("Bad.")],
    ["unauthorized", 401, "unauthorized", unauthorized()],
    ["forbidden", 403, "forbidden", forbidden()],
    ["notFound", 404, "not-found", notFound()],
    ["conflict", 409, "conflict", conflict("Taken.")],
    ["unprocessable", 422, "unprocessable", unprocessable("No such product.")],
    ["serviceUnavailable", 503, "service-unavailable", serviceUnavailable("NATS is down.")],
  ])("%s has status %i and type …/%s", (_name, status, slug, problem) => {
    expect(problem.status).toBe(status);
    expect(problem.toBody().type).toBe(`https://portico.dev/problems/${slug}`);
    expect(problem.toBody().detail).toEqual(expect.any(String));
  });

  it("unauthorized carries the RFC 6750 Bearer challenge", () => {
    expect(unauthorized().headers).toEqual({ "WWW-Authenticate": 'Bearer realm="portico"' });
    expect(unauthorized("Token expired.").message).toBe("Token expired.");
  });

  it("other helpers add no headers", () => {
    expect(forbidden().headers).toEqual({});
    expect(notFound().headers).toEqual({});
  });

  it("badRequest and unprocessable carry their field errors only when given", () => {
    const errors = [{ location: "query" as const, field: "limit", message: "is too large" }];
    expect(badRequest("Bad.", errors).toBody().errors).toEqual(errors);
    expect(badRequest("Bad.").toBody()).not.toHaveProperty("errors");
    expect(unprocessable("No.", errors).errors).toEqual(errors);
    expect(unprocessable("No.").errors).toBeUndefined();
  });
});

describe("fieldFromPath", () => {
  it.each([
    ["/body/price/amount", { location: "body", field: "price.amount" }],
    [".query.limit", { location: "query", field: "limit" }],
    ["/params/productId", { location: "path", field: "productId" }],
    ["/path/productId", { location: "path", field: "productId" }],
    ["request/body/email", { location: "body", field: "email" }],
    ["/headers/x-api-key", { location: "header", field: "x-api-key" }],
    ["/cookies/session", { location: "cookie", field: "session" }],
    ["/body", { location: "body", field: "" }],
    ["", { location: "body", field: "" }],
  ])("%j → %j", (path, expected) => {
    expect(fieldFromPath(path)).toEqual(expected);
  });

  it("treats an undefined path as the body as a whole", () => {
    expect(fieldFromPath(undefined)).toEqual({ location: "body", field: "" });
  });

  it("keeps a path without a known location as a body field", () => {
    expect(fieldFromPath("/name")).toEqual({ location: "body", field: "name" });
  });
});
