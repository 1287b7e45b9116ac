/** Access tokens for the notifications tests: the kit's test issuer. */
export { createTestIssuer, type TestIssuer } from "@portico/kit/testing";
