/** The SMTP transport (nodemailer) the outbox sender delivers through. */
import nodemailer from "nodemailer";

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
 * instead of holding the outbox batch.
 */
export function createSmtpTransport(smtpUrl: string): MailTransport {
  const transporter = nodemailer.createTransport({
    url: smtpUrl,
    // Pooled connections: one SMTP handshake per connection, not per message.
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(email) {
      await transporter.sendMail(email);
    },
    close: () => transporter.close(),
  };
}
