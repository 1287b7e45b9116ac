/** A real SMTP server (smtp-server) in the test process that keeps every message it accepts. */
import type { AddressInfo } from "node:net";
import PostalMime from "postal-mime";
import { SMTPServer } from "smtp-server";

/** One accepted message, parsed. */
export interface CapturedMail {
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** The `From` header, as written (`Portico <no-reply@portico.local>`). */
  from: string;
  subject: string;
  text: string;
  messageId: string;
}

/** A running capture server. */
export interface SmtpCapture {
  /** `smtp://127.0.0.1:<port>`. */
  url: string;
  /** Accepted messages, in arrival order. */
  messages: CapturedMail[];
  /** While true, every message is refused with `550 mailbox unavailable`. */
  refuse: boolean;
  stop(): Promise<void>;
}

/** Starts a capture server on a free port of 127.0.0.1 (no auth, no TLS). */
export async function startSmtpCapture(): Promise<SmtpCapture> {
  const capture: SmtpCapture = {
    url: "",
    messages: [],
    refuse: false,
    stop: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (capture.refuse) {
          callback(Object.assign(new Error("mailbox unavailable"), { responseCode: 550 }));
          return;
        }
        PostalMime.parse(Buffer.concat(chunks)).then(
          (email) => {
            capture.messages.push({
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              from: email.from
                ? `${email.from.name} <${"address" in email.from ? email.from.address : ""}>`
                : "",
              subject: email.subject ?? "",
              text: email.text ?? "",
              messageId: email.messageId ?? "",
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  capture.url = `smtp://127.0.0.1:${port}`;
  capture.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return capture;
}
