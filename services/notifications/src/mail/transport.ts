/** The SMTP transport (nodemailer) the outbox sender delivers through. */
import type nodemailer from "nodemailer";

/** One plain-text email. */
export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** RFC 5322 Message-ID, stable per outbox row so a resend can be recognised. */
  messageId: string;
}

/** Sends emails; `close` releases its connections. */
export interface MailTransport {
  /** @throws Error when the relay refuses or cannot be reached. */
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

/**
 * A nodemailer SMTP transport for `smtpUrl` (`smtp://host:port`, `smtps://` for implicit TLS,
 * credentials as `user:pass@`), with timeouts short enough that a dead relay fails an attempt
 * instead of holding the outbox batch. nodemailer is loaded with the first email, not at start:
 * an idle service does not hold its code and the Node modules it loads (~2 MiB resident).
 */
export function createSmtpTransport(smtpUrl: string): MailTransport {
  let transporter: Promise<ReturnType<typeof nodemailer.createTransport>> | undefined;
  const open = () => {
    transporter ??= import("nodemailer").then(({ default: mailer }) =>
      mailer.createTransport({
        url: smtpUrl,
        // Pooled connections: one SMTP handshake per connection, not per message.
        pool: true,
        maxConnections: 5,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      }),
    );
    return transporter;
  };
  return {
    async send(email) {
      await (await open()).sendMail(email);
    },
    close: () => {
      void transporter?.then((opened) => opened.close());
    },
  };
}
