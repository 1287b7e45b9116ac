/** The reference service's error answers: RFC 9457 Problem Details, as Portico's. */
import type { FastifyReply } from "fastify";

/** Sets `status` and the Problem Details media type on `reply`; returns the body to send. */
export function problem(reply: FastifyReply, status: number, title: string, detail: string) {
  reply.code(status).type("application/problem+json");
  return { type: "about:blank", title, status, detail };
}
