/**
 * A small, self-contained OpenAPI 3.1 contract for testing the kit's app end to end, and the
 * `operations` interface openapi-typescript would generate for it (written by hand so the test
 * does not depend on the generator).
 *
 * - `getWidget`: public; uuid path parameter, integer query parameter with bounds and a default.
 * - `createWidget`: admins only (document-level `bearerAuth`, scope `admin`); a closed body.
 * - `getBrokenWidget`: public; its handler breaks the contract on purpose (the `fault` says how).
 * - `waitForRelease`: public; its handler answers only when the test releases it.
 */

const Problem = {
  description: "An RFC 9457 Problem Details body.",
  content: {
    "application/problem+json": {
      schema: { $ref: "#/components/schemas/Problem" },
    },
  },
} as const;

/** The contract document: plain JSON like `loadContract` returns. */
export const widgetsContract: Record<string, unknown> = {
  openapi: "3.1.0",
  info: { title: "Widgets (kit test)", version: "1.0.0" },
  security: [{ bearerAuth: ["admin"] }],
  paths: {
    "/widgets": {
      post: {
        operationId: "createWidget",
        summary: "Create a widget",
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: { $ref: "#/components/schemas/CreateWidgetRequest" } },
          },
        },
        responses: {
          "201": {
            description: "Created.",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Widget" } } },
          },
          "400": Problem,
          "401": Problem,
          "403": Problem,
        },
      },
    },
    "/widgets/{widgetId}": {
      parameters: [
        {
          name: "widgetId",
          in: "path",
          required: true,
          schema: { type: "string", format: "uuid" },
        },
      ],
      get: {
        operationId: "getWidget",
        summary: "Get a widget",
        security: [],
        parameters: [
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 100, default: 20 },
          },
        ],
        responses: {
          "200": {
            description: "The widget.",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Widget" } } },
          },
          "400": Problem,
          "404": Problem,
        },
      },
    },
    "/broken-widgets/{fault}": {
      get: {
        operationId: "getBrokenWidget",
        summary: "Answer with a response that breaks this contract",
        security: [],
        parameters: [
          {
            name: "fault",
            in: "path",
            required: true,
            schema: { type: "string", enum: ["schema", "status", "missing-body"] },
          },
        ],
        responses: {
          "200": {
            description: "A widget (never, in practice).",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Widget" } } },
          },
          "400": Problem,
        },
      },
    },
    "/slow": {
      get: {
        operationId: "waitForRelease",
        summary: "Answer once the test releases the request",
        security: [],
        responses: {
          "200": {
            description: "Released.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["released"],
                  properties: { released: { type: "boolean" } },
                },
              },
            },
          },
        },
      },
    },
  },
  components: {
    securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    schemas: {
      Money: {
        type: "object",
        additionalProperties: false,
        required: ["amount", "currency"],
        properties: {
          amount: { type: "integer", minimum: 0 },
          currency: { type: "string", pattern: "^[A-Z]{3}$" },
        },
      },
      CreateWidgetRequest: {
        type: "object",
        additionalProperties: false,
        required: ["name", "price"],
        properties: {
          name: { type: "string", minLength: 1, maxLength: 50 },
          price: { $ref: "#/components/schemas/Money" },
        },
      },
      Widget: {
        type: "object",
        additionalProperties: false,
        required: ["id", "name", "price"],
        properties: {
          id: { type: "string", format: "uuid" },
          name: { type: "string" },
          price: { $ref: "#/components/schemas/Money" },
          limit: { type: "integer" },
          createdBy: { type: "string" },
        },
      },
      Problem: {
        type: "object",
        required: ["type", "title", "status"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
        },
      },
    },
  },
};

/** Money in integer minor units and an ISO 4217 currency code. */
export interface Money {
  amount: number;
  currency: string;
}

/** A widget as the contract returns it. */
export interface Widget {
  id: string;
  name: string;
  price: Money;
  limit?: number;
  createdBy?: string;
}

interface ProblemResponse {
  headers: { [name: string]: unknown };
  content: { "application/problem+json": { type: string; title: string; status: number } };
}

interface JsonResponse<T> {
  headers: { [name: string]: unknown };
  content: { "application/json": T };
}

/** The widget "Sprocket" of id `id` (with `limit` when given), as a handler answers it. */
export function sprocket(id: string, limit?: number): Widget {
  return {
    id,
    name: "Sprocket",
    price: { amount: 250, currency: "EUR" },
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** The operations of {@link widgetsContract}, shaped like openapi-typescript's output. */
export interface operations {
  createWidget: {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    requestBody: { content: { "application/json": { name: string; price: Money } } };
    responses: {
      201: JsonResponse<Widget>;
      400: ProblemResponse;
      401: ProblemResponse;
      403: ProblemResponse;
    };
  };
  getWidget: {
    parameters: {
      query?: { limit?: number };
      header?: never;
      path: { widgetId: string };
      cookie?: never;
    };
    requestBody?: never;
    responses: { 200: JsonResponse<Widget>; 400: ProblemResponse; 404: ProblemResponse };
  };
  getBrokenWidget: {
    parameters: {
      query?: never;
      header?: never;
      path: { fault: "schema" | "status" | "missing-body" };
      cookie?: never;
    };
    requestBody?: never;
    responses: { 200: JsonResponse<Widget>; 400: ProblemResponse };
  };
  waitForRelease: {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    requestBody?: never;
    responses: { 200: JsonResponse<{ released: boolean }> };
  };
}
