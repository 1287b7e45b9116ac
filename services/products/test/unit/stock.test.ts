import { describe, expect, it } from "@jest/globals";
import { stockTransition } from "../../src/domain/stock.js";

describe("stockTransition", () => {
  it("announces a change and a return to stock when the level goes from 0 to more", () => {
    expect(stockTransition(0, 5)).toEqual({
      previous: 0,
      current: 5,
      changed: true,
      events: ["products.stock.changed", "products.product.back_in_stock"],
    });
  });

  it("announces only the change when stock goes up from a positive level", () => {
    expect(stockTransition(5, 7).events).toEqual(["products.stock.changed"]);
  });

  it("announces only the change when stock runs out", () => {
    const transition = stockTransition(3, 0);
    expect(transition.changed).toBe(true);
    expect(transition.events).toEqual(["products.stock.changed"]);
  });

  it("announces nothing and changes nothing when the level stays the same", () => {
    expect(stockTransition(7, 7)).toEqual({ previous: 7, current: 7, changed: false, events: [] });
    expect(stockTransition(0, 0)).toEqual({ previous: 0, current: 0, changed: false, events: [] });
  });

  it.each([
    [-1, 5],
    [5, -1],
    [1.5, 2],
    [2, Number.NaN],
    [0, Number.MAX_SAFE_INTEGER + 1],
  ])("rejects %p → %p as not a stock level", (previous, current) => {
    expect(() => stockTransition(previous, current)).toThrow(RangeError);
  });
});
