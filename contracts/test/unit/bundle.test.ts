/** `mergePublicDocument`: how the service contracts become the one public API document. */
import { describe, expect, it } from "@jest/globals";
import { mergePublicDocument, type OpenApiDocument } from "../../../scripts/src/generate/bundle.js";

const info = { title: "Public", version: "1.0.0" };
const servers = [{ url: "http://127.0.0.1:8080" }];

/** A fresh copy of the same Problem schema on each call (equal content, distinct objects). */
const problemSchema = () => ({
  type: "object",
  required: ["type", "title", "status"],
  properties: { type: { type: "string" }, title: { type: "string" }, status: { type: "integer" } },
});
const problem = problemSchema();

/** A minimal service contract; `extra` is merged over it. */
function contract(extra: Partial<OpenApiDocument>): OpenApiDocument {
  return { openapi: "3.1.0", info: { title: "Service", version: "1.0.0" }, ...extra };
}

const users = contract({
  tags: [{ name: "users", description: "User accounts" }],
  security: [{ bearerAuth: [] }],
  paths: {
    "/users": { post: { operationId: "registerUser", security: [] } },
    "/users/me": { get: { operationId: "getCurrentUser" } },
    "/users/{userId}": {
      parameters: [{ $ref: "#/components/parameters/UserId" }],
      get: { operationId: "getUser", security: [{ bearerAuth: ["admin"] }] },
    },
  },
  components: {
    schemas: { Problem: problem, User: { type: "object" } },
    parameters: { UserId: { name: "userId", in: "path", required: true } },
  },
});

const products = contract({
  tags: [{ name: "products" }, { name: "users", description: "User accounts" }],
  paths: {
    "/products": { get: { operationId: "listProducts" } },
    "/users/{userId}": {
      parameters: [{ $ref: "#/components/parameters/UserId" }],
      delete: { operationId: "deleteUserProducts" },
    },
  },
  components: {
    schemas: { Problem: problemSchema(), Product: { type: "object" } },
    parameters: { UserId: { name: "userId", in: "path", required: true } },
  },
});

/** The operation at `method path` of `doc`. */
function operation(doc: OpenApiDocument, path: string, method: string): Record<string, unknown> {
  return doc.paths?.[path]?.[method] as Record<string, unknown>;
}

describe("mergePublicDocument", () => {
  const merged = mergePublicDocument({ users, products }, info, servers);

  it("is an OpenAPI 3.1 document with the given info and servers", () => {
    expect(merged.openapi).toBe("3.1.0");
    expect(merged.info).toEqual(info);
    expect(merged.servers).toEqual(servers);
  });

  it("merges the paths of every contract, methods of a shared path included", () => {
    expect(Object.keys(merged.paths ?? {}).sort()).toEqual([
      "/products",
      "/users",
      "/users/me",
      "/users/{userId}",
    ]);
    expect(Object.keys(merged.paths?.["/users/{userId}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "parameters",
    ]);
  });

  it("tags each operation with the service it comes from", () => {
    expect(operation(merged, "/users", "post")["x-portico-service"]).toBe("users");
    expect(operation(merged, "/users/{userId}", "get")["x-portico-service"]).toBe("users");
    expect(operation(merged, "/products", "get")["x-portico-service"]).toBe("products");
    expect(operation(merged, "/users/{userId}", "delete")["x-portico-service"]).toBe("products");
  });

  it("pushes a contract's document-level security down to operations without their own", () => {
    expect(operation(merged, "/users/me", "get").security).toEqual([{ bearerAuth: [] }]);
    expect(merged).not.toHaveProperty("security");
  });

  it("keeps an operation's own security, including an explicit public []", () => {
    expect(operation(merged, "/users", "post").security).toEqual([]);
    expect(operation(merged, "/users/{userId}", "get").security).toEqual([
      { bearerAuth: ["admin"] },
    ]);
  });

  it("makes an operation public when neither it nor its contract declares security", () => {
    expect(operation(merged, "/products", "get").security).toEqual([]);
  });

  it("keeps everything else of an operation and does not mutate the inputs", () => {
    expect(operation(merged, "/users/{userId}", "get").operationId).toBe("getUser");
    expect(users.paths?.["/users/me"]?.get).toEqual({ operationId: "getCurrentUser" });
  });

  it("merges components by section and accepts identical ones declared twice", () => {
    expect(Object.keys(merged.components?.schemas ?? {}).sort()).toEqual([
      "Problem",
      "Product",
      "User",
    ]);
    expect(merged.components?.schemas?.Problem).toEqual(problem);
    expect(Object.keys(merged.components?.parameters ?? {})).toEqual(["UserId"]);
  });

  it("lists each tag once, in first-seen order", () => {
    expect(merged.tags).toEqual([
      { name: "users", description: "User accounts" },
      { name: "products" },
    ]);
  });

  it("throws naming the method and path declared by two contracts", () => {
    const clash = contract({ paths: { "/users/me": { get: { operationId: "whoAmI" } } } });
    expect(() => mergePublicDocument({ users, clash }, info, servers)).toThrow(
      "clash: GET /users/me is declared twice",
    );
  });

  it("throws naming a component two contracts declare differently", () => {
    const clash = contract({
      components: { schemas: { Problem: { ...problem, required: ["type"] } } },
    });
    expect(() => mergePublicDocument({ users, clash }, info, servers)).toThrow(
      "clash: components.schemas.Problem differs from another contract's",
    );
  });

  it("throws when a shared path's parameters differ between contracts", () => {
    const clash = contract({
      paths: { "/users/{userId}": { parameters: [], patch: { operationId: "renameUser" } } },
    });
    expect(() => mergePublicDocument({ users, clash }, info, servers)).toThrow(
      'clash: path /users/{userId} redefines "parameters" differently',
    );
  });
});
