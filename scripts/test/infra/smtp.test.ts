import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import nodemailer, { type Transporter } from "nodemailer";
import { type SmtpSink, startSmtpSink } from "../../src/infra/smtp.js";
import {
  deleteMessages,
  getMessage,
  listMessages,
  waitForMessage,
} from "../../src/testing/mail.js";

describe("startSmtpSink", () => {
  let sink: SmtpSink;
  let transport: Transporter;
  beforeAll(async () => {
    sink = await startSmtpSink();
    transport = nodemailer.createTransport(sink.smtpUrl);
  });
  afterAll(async () => {
    transport.close();
    await sink.stop();
  });

  it("receives a mail sent with nodemailer and lists it like Mailpit", async () => {
    await transport.sendMail({
      from: "Portico <no-reply@portico.local>",
      to: ["ada@example.com", "Grace <grace@example.com>"],
      subject: "Back in stock: Teapot",
      text: "Good news!\nThe Teapot is back in stock.",
      html: "<p>Good news! The <b>Teapot</b> is back in stock.</p>",
    });

    const list = await listMessages(sink.apiUrl);
    expect(list.total).toBe(1);
    const [summary] = list.messages;
    expect(summary).toMatchObject({
      From: { Name: "Portico", Address: "no-reply@portico.local" },
      To: [
        { Name: "", Address: "ada@example.com" },
        { Name: "Grace", Address: "grace@example.com" },
      ],
      Subject: "Back in stock: Teapot",
      Snippet: "Good news! The Teapot is back in stock.",
      Read: false,
    });
    expect(Date.parse(summary?.Created ?? "")).not.toBeNaN();
    expect(summary).not.toHaveProperty("Text");

    const message = await getMessage(sink.apiUrl, summary?.ID ?? "");
    expect(message.Text.trim()).toBe("Good news!\nThe Teapot is back in stock.");
    expect(message.HTML).toContain("<b>Teapot</b>");
    expect((await getMessage(sink.apiUrl, "latest")).ID).toBe(summary?.ID);

    await deleteMessages(sink.apiUrl);
    expect((await listMessages(sink.apiUrl)).total).toBe(0);
  });

  it("waits for a matching message and lists the newest first", async () => {
    const waiting = waitForMessage(
      sink.apiUrl,
      (m) => m.To.some((to) => to.Address === "bob@example.com") && m.Subject === "second",
      5000,
    );
    for (const subject of ["first", "second"]) {
      await transport.sendMail({
        from: "a@example.com",
        to: "bob@example.com",
        subject,
        text: subject,
      });
    }
    const found = await waiting;
    expect(found.Text.trim()).toBe("second");
    expect((await listMessages(sink.apiUrl)).messages.map((m) => m.Subject)).toEqual([
      "second",
      "first",
    ]);

    await deleteMessages(sink.apiUrl, [found.ID]);
    expect((await listMessages(sink.apiUrl)).messages.map((m) => m.Subject)).toEqual(["first"]);
  });

  it("times out naming what did arrive, and answers 404 for an unknown message", async () => {
    await expect(waitForMessage(sink.apiUrl, (m) => m.Subject === "never", 300)).rejects.toThrow(
      /no matching mail .* within 300 ms; 1 arrived: "first" to bob@example.com/,
    );
    await expect(getMessage(sink.apiUrl, "nope")).rejects.toThrow(/404/);
  });
});
