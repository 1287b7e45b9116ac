/**
 * Request bodies at the gateway: read once as raw bytes (kept for forwarding, unchanged), then
 * parsed into `req.body` only so the contract validator can check them.
 */
import type { IncomingMessage } from "node:http";
import { badRequest, HttpProblem, isJsonMediaType, mediaTypeOf } from "@portico/kit/core";
import express, { type RequestHandler } from "express";

/** A request whose body was read by {@link bodyReader}. */
export interface RawBodyRequest extends IncomingMessage {
  /** The body exactly as received; absent when the request had none. */
  rawBody?: Buffer;
}

/** Largest accepted request body, in bytes (1 MiB; larger: 413 Problem). */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

const UTF8_CHARSETS = new Set(["utf-8", "utf8", "us-ascii"]);

/**
 * Parses a raw body for validation: JSON (RFC 8259) for JSON media types, form fields for
 * `application/x-www-form-urlencoded` (repeated names become arrays), `undefined` for an empty
 * body or any other media type (the validator then answers 415 where the contract disallows it).
 * @throws HttpProblem 400 naming the body when JSON is malformed; 415 for a charset other than
 *   UTF-8 (JSON exchanged between systems must be UTF-8, RFC 8259 section 8.1).
 */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const { type, charset } = mediaTypeOf(contentType);
  const isJson = isJsonMediaType(type);
  const isForm = type === "application/x-www-form-urlencoded";
  if (!isJson && !isForm) return undefined;
  if (charset && !UTF8_CHARSETS.has(charset)) {
    throw new HttpProblem(415, `The charset ${charset} is not supported; send UTF-8.`);
  }
  const text = raw.toString("utf8");
  if (isForm) return formFields(text);
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : "invalid syntax";
    throw badRequest(`The request body is not valid JSON: ${reason}.`, [
      { location: "body", field: "", message: `is not valid JSON (${reason})` },
    ]);
  }
}

function formFields(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const existing = fields[name];
    fields[name] =
      existing === undefined
        ? value
        : Array.isArray(existing)
          ? [...existing, value]
          : [existing, value];
  }
  return fields;
}

/**
 * Middleware pair: reads any request body once as a Buffer into `req.rawBody` (unless the fast
 * lane read it already; compressed bodies
 * are refused with 415, since the gateway could not validate them), then sets `req.body` to its
 * parsed form (see {@link parseBody}). Errors go to the next error handler as Problems.
 * @param limit largest accepted body, in bytes or as `"1mb"` (larger: 413).
 */
export function bodyReader(limit: string | number = DEFAULT_BODY_LIMIT_BYTES): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit, inflate: false });
  // The fast lane may have read the body before handing the request over: not read twice.
  const readRaw: RequestHandler = (req, res, next) => {
    const given = (req as RawBodyRequest).rawBody;
    if (given === undefined) return raw(req, res, next);
    req.body = given.length > 0 ? given : undefined;
    next();
  };
  const parse: RequestHandler = (req, _res, next) => {
    if (!Buffer.isBuffer(req.body)) {
      req.body = undefined;
      next();
      return;
    }
    const raw = req.body;
    (req as RawBodyRequest).rawBody = raw;
    try {
      req.body = parseBody(raw, req.headers["content-type"]);
      next();
    } catch (err) {
      next(err);
    }
  };
  return [readRaw, parse];
}
