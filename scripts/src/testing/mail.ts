import { setTimeout as delay } from "node:timers/promises";
import type { MailList, MailMessage, MailSummary } from "../infra/mail-api.js";

export type { MailAddress, MailList, MailMessage, MailSummary } from "../infra/mail-api.js";

async function request(url: string, init?: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (!response.ok) {
    const body = await response.text();
    throw new Error(`${init?.method ?? "GET"} ${url} answered ${response.status}: ${body}`);
  }
  return response;
}

/**
 * Lists messages (newest first) from the SMTP sink or Mailpit at `apiUrl` (e.g.
 * `http://127.0.0.1:8025`), at most `limit` (default 50). Throws on a non-2xx answer.
 */
export async function listMessages(apiUrl: string, limit = 50): Promise<MailList> {
  const response = await request(`${apiUrl}/api/v1/messages?limit=${limit}`);
  return (await response.json()) as MailList;
}

/** Fetches one message with its bodies; `id` may be `latest`. Throws on 404 or another error. */
export async function getMessage(apiUrl: string, id: string): Promise<MailMessage> {
  const response = await request(`${apiUrl}/api/v1/message/${encodeURIComponent(id)}`);
  return (await response.json()) as MailMessage;
}

/** Deletes the messages with these ids, or every message when `ids` is omitted or empty. */
export async function deleteMessages(apiUrl: string, ids: readonly string[] = []): Promise<void> {
  await request(`${apiUrl}/api/v1/messages`, {
    method: "DELETE",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ids.length > 0 ? { IDs: ids } : {}),
  });
}

/**
 * Polls the mail API until a message summary matches `predicate` (e.g. on `To[0].Address` and
 * `Subject`), then resolves with that full message (with `Text`). Throws after `timeoutMs` (default
 * 10 000 ms) with the subjects and recipients that did arrive.
 */
export async function waitForMessage(
  apiUrl: string,
  predicate: (message: MailSummary) => boolean,
  timeoutMs = 10_000,
): Promise<MailMessage> {
  const deadline = Date.now() + timeoutMs;
  let seen: MailSummary[] = [];
  for (;;) {
    seen = (await listMessages(apiUrl, 500)).messages;
    const found = seen.find(predicate);
    if (found) return getMessage(apiUrl, found.ID);
    if (Date.now() >= deadline) break;
    await delay(100);
  }
  const arrived = seen
    .map((m) => `"${m.Subject}" to ${m.To.map((to) => to.Address).join(", ")}`)
    .join("; ");
  throw new Error(
    `no matching mail at ${apiUrl} within ${timeoutMs} ms; ${seen.length} arrived${arrived ? `: ${arrived}` : ""}`,
  );
}
