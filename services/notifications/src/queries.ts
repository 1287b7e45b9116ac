/**
 * What this service asks other services over NATS request/reply (the NATS service API):
 * `products.query.getProduct` and `users.query.getUserContact` (see @portico/contracts).
 */
import type { QueryReply } from "@portico/contracts";
import { type NatsConnection, query } from "@portico/kit";

/** A product as the products service describes it to queries; `null` when it does not exist. */
export type ProductFacts = QueryReply<"products.query.getProduct">;
/** A user's contact details; `null` when the user does not exist. */
export type UserContact = QueryReply<"users.query.getUserContact">;

/** The lookups this service needs; each rejects when the other service does not answer. */
export interface Lookups {
  /** @throws Error on no responders, timeout or a service error. */
  getProduct(productId: string, requestId?: string): Promise<ProductFacts>;
  /** @throws Error on no responders, timeout or a service error. */
  getUserContact(userId: string, requestId?: string): Promise<UserContact>;
}

/**
 * {@link Lookups} over NATS request/reply.
 * @param timeoutMs how long each query waits for a reply, in milliseconds.
 */
export function natsLookups(nc: NatsConnection, timeoutMs = 2_000): Lookups {
  const options = (requestId?: string) => ({ timeoutMs, ...(requestId ? { requestId } : {}) });
  return {
    getProduct: (productId, requestId) =>
      query(nc, "products.query.getProduct", { productId }, options(requestId)),
    getUserContact: (userId, requestId) =>
      query(nc, "users.query.getUserContact", { userId }, options(requestId)),
  };
}
