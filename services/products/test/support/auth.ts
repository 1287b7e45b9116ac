/** Access tokens for the products tests: the kit's test issuer (the users service is not needed). */
export {
  createTestIssuer as createTestAuth,
  type TestIssuer as TestAuth,
} from "@portico/kit/testing";
