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
