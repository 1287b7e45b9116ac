import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { v7 as uuidv7 } from "uuid";
import { request } from "../support/http.js";
import { type RunningProducts, startProducts } from "../support/service.js";

let service: RunningProducts;
let adminToken: string;

interface Listed {
  id: string;
  name: string;
  stock: number;
  createdAt: string;
}

const get = (path: string) => request(service.baseUrl, "GET", path);

/** Every product, walking the pages `limit` at a time; fails on a page over the limit. */
async function walk(query: string, limit: number): Promise<{ items: Listed[]; pages: number }> {
  const items: Listed[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams(query);
    params.set("limit", String(limit));
    if (cursor) params.set("cursor", cursor);
    const res = await get(`/products?${params}`);
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages += 1;
  } while (cursor && pages < 100);
  return { items, pages };
}

const names = (items: Listed[]) => items.map((item) => item.name).sort();

const CATALOGUE = [
  { name: "Espresso cup", description: "Porcelain, 80 ml", stock: 4 },
  { name: "Cappuccino CUP", description: "Stoneware", stock: 0 },
  { name: "Saucer", description: "Fits every cup", stock: 2 },
  { name: "50% off voucher", description: "", stock: 1 },
  { name: "500 grams of beans", description: "whole_bean roast", stock: 0 },
  { name: "Back\\slash mug", description: "", stock: 3 },
];

beforeAll(async () => {
  service = await startProducts();
  adminToken = await service.auth.tokenFor({ role: "admin" });
  for (const item of CATALOGUE) {
    const res = await request(service.baseUrl, "POST", "/products", {
      token: adminToken,
      json: { ...item, price: { amount: 500, currency: "EUR" } },
    });
    expect(res.status).toBe(201);
  }
  // 19 more created in the same millisecond, so pages also split between equal timestamps
  // and only the id orders them.
  const sameInstant = new Date();
  await service.db
    .insertInto("products")
    .values(
      Array.from({ length: 19 }, (_, i) => ({
        id: uuidv7(),
        name: `Filler ${String(i).padStart(2, "0")}`,
        price_amount: 100,
        price_currency: "EUR",
        stock: 1,
        created_at: sameInstant,
        updated_at: sameInstant,
      })),
    )
    .execute();
});

afterAll(async () => {
  await service?.stop();
});

describe("listProducts pagination", () => {
  it.each([1, 4, 7, 25, 100])(
    "walks every product exactly once, newest first, %p per page",
    async (limit) => {
      const { items, pages } = await walk("", limit);
      expect(items).toHaveLength(25);
      expect(new Set(items.map((item) => item.id)).size).toBe(25);
      expect(pages).toBe(Math.max(1, Math.ceil(25 / limit)));
      const keys = items.map((item) => [item.createdAt, item.id] as const);
      const sorted = [...keys].sort(([aTime, aId], [bTime, bId]) =>
        aTime === bTime ? bId.localeCompare(aId) : bTime.localeCompare(aTime),
      );
      expect(keys).toEqual(sorted);
    },
  );

  it("uses the contract's default page size of 20", async () => {
    const res = await get("/products");
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(20);
    expect(typeof res.body.nextCursor).toBe("string");
  });

  it("says there is no next page on the last one", async () => {
    const res = await get("/products?limit=100");
    expect(res.body.items).toHaveLength(25);
    expect(res.body.nextCursor).toBeNull();
  });

  it.each([
    ["a cursor that is not base64url JSON", "cursor=bm90LWpzb24"],
    [
      "a cursor with a non-UUID id",
      `cursor=${Buffer.from(JSON.stringify([new Date().toISOString(), "x"])).toString("base64url")}`,
    ],
    ["a cursor outside the contract's alphabet", "cursor=abc%21"],
    [
      "a cursor with a time PostgreSQL cannot store",
      `cursor=${Buffer.from(JSON.stringify(["-200000-01-01T00:00:00.000Z", uuidv7()])).toString("base64url")}`,
    ],
  ])("rejects %s with 400 naming cursor", async (_case, query) => {
    const res = await get(`/products?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["cursor"]);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["inStock=maybe", "inStock"],
    ["q=", "q"],
    ["colour=white", "colour"],
    ["q=cup%00", "q"],
  ])("rejects %s with 400 naming %s", async (query, field) => {
    const res = await get(`/products?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});

describe("listProducts filters", () => {
  it("finds text in the name or the description, case-insensitively", async () => {
    expect(names((await walk("q=cup", 2)).items)).toEqual([
      "Cappuccino CUP",
      "Espresso cup",
      "Saucer",
    ]);
    expect(names((await walk("q=PORCELAIN", 10)).items)).toEqual(["Espresso cup"]);
  });

  it("matches %, _ and \\ literally", async () => {
    expect(names((await walk("q=50%", 10)).items)).toEqual(["50% off voucher"]);
    expect(names((await walk("q=e_b", 10)).items)).toEqual(["500 grams of beans"]);
    expect(names((await walk("q=k\\s", 10)).items)).toEqual(["Back\\slash mug"]);
    expect((await walk("q=%25%25", 10)).items).toEqual([]);
  });

  it("filters by whether there is stock", async () => {
    const outOfStock = (await walk("inStock=false", 1)).items;
    expect(names(outOfStock)).toEqual(["500 grams of beans", "Cappuccino CUP"]);
    const inStock = (await walk("inStock=true", 3)).items;
    expect(inStock).toHaveLength(23);
    expect(inStock.every((item) => item.stock > 0)).toBe(true);
  });

  it("combines text, stock and pagination", async () => {
    const { items, pages } = await walk("q=cup&inStock=true", 1);
    expect(names(items)).toEqual(["Espresso cup", "Saucer"]);
    expect(pages).toBe(2);
  });
});
