import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import PostalMime, { type Address } from "postal-mime";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { InfraError } from "./errors.js";
import type { MailAddress, MailList, MailMessage, MailSummary } from "./mail-api.js";

/** Options of {@link startSmtpSink}. */
export interface StartSmtpSinkOptions {
  /** SMTP port; 0 or omitted picks a free one. */
  smtpPort?: number;
  /** HTTP API port; 0 or omitted picks a free one. */
  httpPort?: number;
  /** Address both listen on. Default 127.0.0.1. */
  host?: string;
  /** Oldest messages are dropped beyond this many. Default 1000. */
  maxMessages?: number;
}

/** A running development SMTP sink. */
export interface SmtpSink {
  /** e.g. `smtp://127.0.0.1:1025` (no auth, no TLS). */
  smtpUrl: string;
  /** Base URL of the Mailpit-like API, e.g. `http://127.0.0.1:8025`. */
  apiUrl: string;
  /** Closes both servers (open connections are cut). Idempotent. */
  stop(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

function mailboxes(list: readonly Address[] | undefined): MailAddress[] {
  return (list ?? []).flatMap((entry) =>
    entry.address !== undefined
      ? [{ Name: entry.name, Address: entry.address }]
      : entry.group.map((member) => ({ Name: member.name, Address: member.address })),
  );
}

async function toMessage(raw: Buffer, session: SMTPServerSession): Promise<MailMessage> {
  const email = await PostalMime.parse(raw);
  const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
  const from = mailboxes(email.from ? [email.from] : [])[0] ?? { Name: "", Address: envelopeFrom };
  const to = mailboxes(email.to);
  const created = new Date().toISOString();
  const date = email.date ? new Date(email.date) : undefined;
  const text = email.text ?? "";
  return {
    ID: randomUUID(),
    MessageID: email.messageId?.replace(/^<|>$/g, "") ?? "",
    Read: false,
    From: from,
    To:
      to.length > 0
        ? to
        : session.envelope.rcptTo.map((rcpt) => ({ Name: "", Address: rcpt.address })),
    Subject: email.subject ?? "",
    Created: created,
    Date: date && !Number.isNaN(date.getTime()) ? date.toISOString() : created,
    Size: raw.length,
    Snippet: text.replace(/\s+/g, " ").trim().slice(0, 250),
    Text: text,
    HTML: email.html ?? "",
  };
}

function summary(message: MailMessage): MailSummary {
  const { Date: _date, Text: _text, HTML: _html, ...rest } = message;
  return rest;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = typeof body !== "string";
  res.writeHead(status, { "content-type": json ? "application/json" : "text/plain" });
  res.end(json ? JSON.stringify(body) : body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Serves the Mailpit API subset over `store` (newest last in the array). */
function createApi(store: MailMessage[]): Server {
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sink");
    try {
      if (url.pathname === "/api/v1/messages" && req.method === "GET") {
        const start = Math.max(0, Number(url.searchParams.get("start")) || 0);
        const limit = Math.max(1, Number(url.searchParams.get("limit")) || 50);
        const newestFirst = store.toReversed();
        const page = newestFirst.slice(start, start + limit).map(summary);
        const list: MailList = {
          total: store.length,
          unread: store.filter((m) => !m.Read).length,
          count: page.length,
          start,
          messages: page,
        };
        return send(res, 200, list);
      }
      if (url.pathname === "/api/v1/messages" && req.method === "DELETE") {
        const body = await readBody(req);
        const ids = body.trim() ? (JSON.parse(body) as { IDs?: string[] }).IDs : undefined;
        const keep = ids && ids.length > 0 ? store.filter((m) => !ids.includes(m.ID)) : [];
        store.splice(0, store.length, ...keep);
        return send(res, 200, "ok");
      }
      const match = /^\/api\/v1\/message\/([^/]+)$/.exec(url.pathname);
      if (match && req.method === "GET") {
        const id = decodeURIComponent(match[1] ?? "");
        const message = id === "latest" ? store.at(-1) : store.find((m) => m.ID === id);
        if (!message) return send(res, 404, "message not found");
        message.Read = true;
        return send(res, 200, message);
      }
      return send(res, 404, "not found");
    } catch (error) {
      return send(res, 400, (error as Error).message);
    }
  });
}

async function listen(
  server: {
    listen(port: number, host: string, cb: () => void): unknown;
    once(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown;
  },
  port: number,
  host: string,
  what: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new InfraError(
          error.code === "EADDRINUSE"
            ? `${what} port ${host}:${port} is already in use`
            : `${what} could not listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, host, resolve);
  });
}

/**
 * Starts an in-memory development mail sink: an SMTP server (no auth, no TLS) that accepts every
 * message, and an HTTP API shaped like Mailpit's (`GET /api/v1/messages`, `GET /api/v1/message/{ID}`,
 * `DELETE /api/v1/messages`). Throws {@link InfraError} when a port is taken.
 */
export async function startSmtpSink(options: StartSmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? "127.0.0.1";
  const maxMessages = options.maxMessages ?? 1000;
  const store: MailMessage[] = [];

  const smtp = new SMTPServer({
    name: "portico-smtp-sink",
    banner: "Portico development SMTP sink",
    disabledCommands: ["AUTH", "STARTTLS"],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error("Message exceeds size limit"), { responseCode: 552 }));
          return;
        }
        toMessage(Buffer.concat(chunks), session).then(
          (message) => {
            store.push(message);
            if (store.length > maxMessages) store.shift();
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  const api = createApi(store);

  await listen(smtp, options.smtpPort ?? 0, host, "SMTP sink");
  try {
    await listen(api, options.httpPort ?? 0, host, "SMTP sink API");
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw error;
  }
  smtp.on("error", () => {}); // client errors after start-up are not ours to crash on

  const smtpPort = (smtp.server.address() as AddressInfo).port;
  const httpPort = (api.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    smtpUrl: `smtp://${host}:${smtpPort}`,
    apiUrl: `http://${host}:${httpPort}`,
    stop: () => {
      stopped ??= Promise.all([
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        new Promise<void>((resolve) => {
          api.close(() => resolve());
          api.closeAllConnections();
        }),
      ]).then(() => undefined);
      return stopped;
    },
  };
}
