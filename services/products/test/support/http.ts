/** Drives the service over HTTP in tests: the kit's JSON request helper. */
export {
  requestJson as request,
  type TestRequestOptions as RequestOptions,
  type TestResponse,
} from "@portico/kit/testing";
