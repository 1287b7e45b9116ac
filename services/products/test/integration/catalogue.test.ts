import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { v7 as uuidv7 } from "uuid";
import { eventsAbout, streamPosition } from "../support/events.js";
import { request, type TestResponse } from "../support/http.js";
import { type RunningProducts, startProducts } from "../support/service.js";

let service: RunningProducts;
let adminToken: string;
let userToken: string;

const cup = {
  name: "Espresso cup",
  description: "Porcelain, 80 ml",
  price: { amount: 1299, currency: "EUR" },
  stock: 3,
};

const call = (method: string, path: string, options?: Parameters<typeof request>[3]) =>
  request(service.baseUrl, method, path, options);
const asAdmin = (method: string, path: string, json?: unknown) =>
  call(method, path, { token: adminToken, ...(json !== undefined ? { json } : {}) });
const productCount = async () =>
  Number(
    (
      await service.db
        .selectFrom("products")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );
const fieldsOf = (res: TestResponse) =>
  (res.body.errors as { location: string; field: string }[]).map((e) => `${e.location}:${e.field}`);

beforeAll(async () => {
  service = await startProducts();
  adminToken = await service.auth.tokenFor({ role: "admin" });
  userToken = await service.auth.tokenFor({ role: "user" });
});

afterAll(async () => {
  await service?.stop();
});

describe("createProduct", () => {
  it("creates a product for an admin: 201, Location, and products.product.created", async () => {
    const since = await streamPosition(service);
    const res = await call("POST", "/products", {
      token: adminToken,
      json: cup,
      headers: { "x-request-id": "create-cup-1" },
    });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...cup, id: expect.any(String) });
    expect(res.body.createdAt).toBe(res.body.updatedAt);
    expect(res.headers.get("location")).toBe(`/products/${res.body.id}`);

    const events = await eventsAbout(service, since, res.body.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.requestId).toBe("create-cup-1");
    expect(events[0]?.envelope).toMatchObject({
      type: "products.product.created",
      source: "products",
      subject: res.body.id,
      data: { product: { id: res.body.id, ...cup } },
    });
  });

  it("defaults description to '' and stock to 0", async () => {
    const res = await asAdmin("POST", "/products", {
      name: "Saucer",
      price: { amount: 450, currency: "EUR" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ description: "", stock: 0 });
  });

  it("refuses a user with 403 and an anonymous caller with 401, creating nothing", async () => {
    const before = await productCount();

    const asUser = await call("POST", "/products", { token: userToken, json: cup });
    expect(asUser.status).toBe(403);
    expect(asUser.headers.get("content-type")).toContain("application/problem+json");

    const anonymous = await call("POST", "/products", { json: cup });
    expect(anonymous.status).toBe(401);

    const forged = await call("POST", "/products", { token: `${adminToken}x`, json: cup });
    expect(forged.status).toBe(401);

    expect(await productCount()).toBe(before);
  });

  it.each([
    [
      "an invalid price currency",
      { ...cup, price: { amount: 100, currency: "eur" } },
      "body:price.currency",
    ],
    ["a negative stock", { ...cup, stock: -1 }, "body:stock"],
    ["an unknown property", { ...cup, colour: "white" }, "body:colour"],
    [
      "a fractional amount",
      { ...cup, price: { amount: 12.5, currency: "EUR" } },
      "body:price.amount",
    ],
    ["a missing name", { price: cup.price }, "body:name"],
    ["a NUL character in the name", { ...cup, name: "Cup\u0000" }, "body:name"],
  ])("rejects %s with 400 naming the field and creates nothing", async (_case, json, field) => {
    const before = await productCount();
    const res = await asAdmin("POST", "/products", json);
    expect(res.status).toBe(400);
    expect(res.body.status).toBe(400);
    expect(fieldsOf(res)).toContain(field);
    expect(await productCount()).toBe(before);
  });

  it("rejects malformed JSON with 400 naming the body and creates nothing", async () => {
    const before = await productCount();
    const res = await call("POST", "/products", { token: adminToken, raw: '{"name": "Cup",' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { location: "body", field: "", message: "The request body is not valid JSON." },
    ]);
    expect(await productCount()).toBe(before);
  });
});

describe("getProduct", () => {
  it("returns a product by id", async () => {
    const created = await asAdmin("POST", "/products", cup);
    const res = await call("GET", `/products/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.body);
  });

  it("answers 404 for an unknown id and 400 naming productId for a malformed one", async () => {
    const unknown = await call("GET", `/products/${uuidv7()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe("https://portico.dev/problems/not-found");

    const malformed = await call("GET", "/products/not-a-uuid");
    expect(malformed.status).toBe(400);
    expect(fieldsOf(malformed)).toEqual(["path:productId"]);
  });
});

describe("updateProduct", () => {
  it("changes only the given fields, publishes products.product.updated", async () => {
    const created = await asAdmin("POST", "/products", cup);
    const since = await streamPosition(service);

    const res = await asAdmin("PATCH", `/products/${created.body.id}`, {
      price: { amount: 1099, currency: "USD" },
    });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: created.body.id,
      name: cup.name,
      description: cup.description,
      stock: cup.stock,
      price: { amount: 1099, currency: "USD" },
      createdAt: created.body.createdAt,
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.body.updatedAt),
    );
    expect((await call("GET", `/products/${created.body.id}`)).body).toEqual(res.body);

    const events = await eventsAbout(service, since, created.body.id);
    expect(events.map((e) => e.envelope.type)).toEqual(["products.product.updated"]);
    expect(events[0]?.envelope.data).toEqual({
      product: { ...cup, id: created.body.id, price: { amount: 1099, currency: "USD" } },
    });
  });

  it("can clear the description without touching anything else", async () => {
    const created = await asAdmin("POST", "/products", cup);
    const res = await asAdmin("PATCH", `/products/${created.body.id}`, { description: "" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: cup.name, description: "", price: cup.price });
  });

  it("rejects an empty PATCH and an attempt to change stock, changing nothing", async () => {
    const created = await asAdmin("POST", "/products", cup);

    const empty = await asAdmin("PATCH", `/products/${created.body.id}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toHaveLength(1);
    expect(empty.body.errors[0].location).toBe("body");

    const stock = await asAdmin("PATCH", `/products/${created.body.id}`, { stock: 99 });
    expect(stock.status).toBe(400);
    expect(fieldsOf(stock)).toContain("body:stock");

    expect((await call("GET", `/products/${created.body.id}`)).body).toEqual(created.body);
  });

  it("answers 404 for an unknown id and 403 for a user", async () => {
    expect((await asAdmin("PATCH", `/products/${uuidv7()}`, { name: "Mug" })).status).toBe(404);
    const created = await asAdmin("POST", "/products", cup);
    const asUser = await call("PATCH", `/products/${created.body.id}`, {
      token: userToken,
      json: { name: "Mug" },
    });
    expect(asUser.status).toBe(403);
    expect((await call("GET", `/products/${created.body.id}`)).body.name).toBe(cup.name);
  });
});

describe("deleteProduct", () => {
  it("deletes: 204, then 404, and publishes products.product.deleted", async () => {
    const created = await asAdmin("POST", "/products", cup);
    const since = await streamPosition(service);

    const res = await asAdmin("DELETE", `/products/${created.body.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();

    expect((await call("GET", `/products/${created.body.id}`)).status).toBe(404);
    expect((await asAdmin("DELETE", `/products/${created.body.id}`)).status).toBe(404);

    const events = await eventsAbout(service, since, created.body.id);
    expect(events.map((e) => e.envelope)).toEqual([
      expect.objectContaining({
        type: "products.product.deleted",
        data: { productId: created.body.id },
      }),
    ]);
  });

  it("refuses a user and leaves the product in place", async () => {
    const created = await asAdmin("POST", "/products", cup);
    const res = await call("DELETE", `/products/${created.body.id}`, { token: userToken });
    expect(res.status).toBe(403);
    expect((await call("GET", `/products/${created.body.id}`)).status).toBe(200);
  });
});
