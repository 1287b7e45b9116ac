"""The platform side of a Portico Python service, shared by every one (as ``@portico/kit`` is by
the TypeScript services): configuration, the HTTP server and its limits, Problem Details,
bearer-token security, logs, request ids, the served OpenAPI document, and events on NATS
JetStream in the Portico envelope. Nothing here names a domain."""
