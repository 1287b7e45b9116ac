/**
 * NATS request/reply queries between services, served with the NATS service API
 * (micro-services protocol: discovery via `$SRV.*`). Subjects: `<service>.query.<operation>`,
 * outside every stream's subjects so JetStream never captures a query.
 */

/** Every query subject with its request and reply shapes. A reply of `null` means "not found". */
export interface QueryContracts {
  "users.query.getUserContact": {
    request: { userId: string };
    reply: { id: string; email: string; name: string } | null;
  };
  /**
   * Verifies a service account's API key (the `X-API-Key` header of `apiKeyAuth`): the key's id,
   * name and role when it is valid and not revoked, else null.
   */
  "users.query.verifyApiKey": {
    request: { apiKey: string };
    reply: { apiKeyId: string; name: string; role: "user" | "admin" } | null;
  };
  "products.query.getProduct": {
    request: { productId: string };
    reply: { id: string; name: string; stock: number } | null;
  };
}

/** A query subject, e.g. `users.query.getUserContact`. */
export type QuerySubject = keyof QueryContracts;
/** The request body of a query. */
export type QueryRequest<S extends QuerySubject> = QueryContracts[S]["request"];
/** The reply body of a query. */
export type QueryReply<S extends QuerySubject> = QueryContracts[S]["reply"];
