/**
 * RFC 9457 Problem Details: the one error shape of every Portico HTTP response.
 * Handlers throw {@link HttpProblem}; the kit's error middleware renders it.
 */

import type { PublicApi } from "@portico/contracts";

/** Media type of a Problem Details body (RFC 9457 section 3). */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

type Schemas = PublicApi.components["schemas"];

/** One invalid field, as listed in a validation problem's `errors` (contracts/components.yaml). */
export type FieldError = Schemas["FieldError"];

/** The JSON body of a Problem Details response (RFC 9457 section 3.1, plus `errors`), as the
 * contracts declare it in components.yaml. */
export type ProblemBody = Schemas["Problem"];

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ["validation-error", "Request validation failed"],
  401: ["unauthorized", "Unauthorized"],
  403: ["forbidden", "Forbidden"],
  404: ["not-found", "Not Found"],
  405: ["method-not-allowed", "Method Not Allowed"],
  406: ["not-acceptable", "Not Acceptable"],
  408: ["request-timeout", "Request Timeout"],
  409: ["conflict", "Conflict"],
  413: ["payload-too-large", "Content Too Large"],
  415: ["unsupported-media-type", "Unsupported Media Type"],
  422: ["unprocessable", "Unprocessable Content"],
  429: ["too-many-requests", "Too Many Requests"],
  431: ["request-header-fields-too-large", "Request Header Fields Too Large"],
  500: ["internal-error", "Internal Server Error"],
  502: ["bad-gateway", "Bad Gateway"],
  503: ["service-unavailable", "Service Unavailable"],
  504: ["gateway-timeout", "Gateway Timeout"],
};

/** The problem `type` URI used for a status code. */
export function problemType(status: number): string {
  return `https://portico.dev/problems/${TITLES[status]?.[0] ?? "error"}`;
}

/** An error that renders as a Problem Details response with the given status. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers, e.g. `WWW-Authenticate` or `Allow`. */
  readonly headers: Record<string, string>;

  /**
   * @param status HTTP status code (4xx or 5xx).
   * @param detail human-readable explanation of this occurrence; never internal details.
   */
  constructor(
    status: number,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; title?: string } = {},
  ) {
    super(detail ?? TITLES[status]?.[1] ?? "Error");
    this.status = status;
    this.title = options.title ?? TITLES[status]?.[1] ?? "Error";
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  /** The Problem Details body for this error at `instance` (the request path). */
  toBody(instance?: string, requestId?: string): ProblemBody {
    return {
      type: problemType(this.status),
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(requestId ? { requestId } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** 400 with one entry per invalid field. */
export const badRequest = (detail: string, errors?: FieldError[]) =>
  new HttpProblem(400, detail, errors ? { errors } : {});
/** 401 with the RFC 6750 `WWW-Authenticate: Bearer` challenge. */
export const unauthorized = (detail = "A valid bearer token is required.") =>
  new HttpProblem(401, detail, { headers: { "WWW-Authenticate": 'Bearer realm="portico"' } });
/** 403: authenticated, but the role does not allow the operation. */
export const forbidden = (detail = "You are not allowed to perform this operation.") =>
  new HttpProblem(403, detail);
/** 404. */
export const notFound = (detail = "The resource does not exist.") => new HttpProblem(404, detail);
/** 409. */
export const conflict = (detail: string) => new HttpProblem(409, detail);
/** 422: a valid request that names something unusable (only where the contract declares 422). */
export const unprocessable = (detail: string, errors?: FieldError[]) =>
  new HttpProblem(422, detail, errors ? { errors } : {});
/** 503: a dependency is unavailable. */
export const serviceUnavailable = (detail: string) => new HttpProblem(503, detail);

const LOCATIONS: Record<string, FieldError["location"]> = {
  body: "body",
  query: "query",
  params: "path",
  path: "path",
  headers: "header",
  header: "header",
  cookies: "cookie",
  cookie: "cookie",
};

/**
 * Turns a validator error path (`/body/price/amount`, `.query.limit`, `request/body/email`)
 * into a {@link FieldError} location and dotted field name.
 */
export function fieldFromPath(path: string | undefined): Pick<FieldError, "location" | "field"> {
  const parts = (path ?? "").split(/[/.]/).filter((p) => p !== "" && p !== "request");
  const location = LOCATIONS[parts[0] ?? ""] ?? "body";
  return { location, field: (LOCATIONS[parts[0] ?? ""] ? parts.slice(1) : parts).join(".") };
}
