/**
 * Stock-level rules: which events a change of stock level announces. Pure; the handler applies
 * the change inside a transaction and publishes what this returns after the commit.
 */
import type { EventSubject } from "@portico/contracts";

/** The events a stock change can cause. */
export type StockEventSubject = Extract<
  EventSubject,
  "products.stock.changed" | "products.product.back_in_stock"
>;

/** A stock level change from `previous` to `current` units, with the events it causes. */
export interface StockTransition {
  previous: number;
  current: number;
  /** True when the level differs (the row must be written). */
  changed: boolean;
  /** In publishing order: `products.stock.changed` first, then `products.product.back_in_stock`. */
  events: StockEventSubject[];
}

/**
 * The transition from `previous` to `current` units in stock:
 * - `products.stock.changed` whenever the level differs;
 * - `products.product.back_in_stock` when it goes from 0 to more than 0.
 * Setting the same level changes nothing and announces nothing.
 * @throws RangeError when either level is not a non-negative safe integer.
 */
export function stockTransition(previous: number, current: number): StockTransition {
  for (const [name, level] of [
    ["previous", previous],
    ["current", current],
  ] as const) {
    if (!Number.isSafeInteger(level) || level < 0) {
      throw new RangeError(`${name} stock level must be a non-negative integer, got ${level}`);
    }
  }
  const events: StockEventSubject[] = [];
  if (current !== previous) events.push("products.stock.changed");
  if (previous === 0 && current > 0) events.push("products.product.back_in_stock");
  return { previous, current, changed: current !== previous, events };
}
