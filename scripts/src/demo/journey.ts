/**
 * The demo journey, step by step through @portico/client against a running gateway: the same
 * code `npm run demo` prints and the end-to-end test asserts.
 */
import {
  createPorticoClient,
  type EventSubscription,
  type PorticoClient,
  type Problem,
  type Schemas,
  StreamRefusedError,
  unwrap,
} from "@portico/client";

/** Where the system runs and who the administrator is. */
export interface JourneyOptions {
  gatewayUrl: string;
  /** Mailpit-compatible API of the SMTP sink (`GET /api/v1/messages`). */
  mailApiUrl: string;
  /** An address listed in the users service's ADMIN_EMAILS. */
  adminEmail: string;
  adminPassword: string;
  /** Called once per step with a one-line description and its data. */
  onStep?: (title: string, data?: unknown) => void;
  /** How long to wait for the notification and the email, in ms. */
  timeoutMs?: number;
}

/** Everything the journey produced, for assertions. */
export interface JourneyResult {
  admin: Schemas["User"];
  customer: Schemas["User"];
  product: Schemas["Product"];
  subscription: Schemas["Subscription"];
  restocked: Schemas["Product"];
  /** The notification as it arrived live on `GET /events`, and when. */
  live: {
    notification: Schemas["Notification"];
    /** Its SSE `id` (stream sequence). */
    eventId: string;
    /** From sending the restock to receiving the notification, in ms. */
    latencyMs: number;
  };
  notification: Schemas["Notification"];
  email: { to: string; subject: string };
  /** The customer's review of the product, once the ML service scored it. */
  review: Schemas["Review"];
  /** The product after the score: its review count and average sentiment. */
  reviewed: Schemas["Product"];
  badRequest: { status: number; problem: Problem };
}

/** Mailpit's message summary (the subset Portico's SMTP sink also serves). */
interface MailSummary {
  ID: string;
  To: { Address: string }[];
  Subject: string;
}

/**
 * Polls `probe` every 200 ms until it returns a value.
 * @throws Error naming `what` after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Opens `client`'s live event stream, retrying while the gateway answers 503 (its event feed
 * attaches in the background just after start-up).
 * @returns once the stream is open.
 * @throws StreamRefusedError for any other refusal, or the 503 after `timeoutMs`.
 */
async function subscribeWhenAvailable(
  client: PorticoClient,
  onEvent: Parameters<PorticoClient["subscribe"]>[0],
  timeoutMs: number,
): Promise<EventSubscription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await client.subscribe(onEvent);
    } catch (err) {
      if (!(err instanceof StreamRefusedError) || err.status !== 503 || Date.now() > deadline) {
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Runs the journey: register the administrator (or sign in when already registered) and a new
 * customer, create a product with stock 0, subscribe the customer, open the customer's live
 * event stream, restock, then wait for the notification to arrive live, in the inbox and by
 * email; then the customer reviews the product and the ML service's score of the review (and the
 * product's average sentiment) appears; finally send an invalid request and keep its Problem.
 * @throws PorticoError when a step the journey expects to succeed fails; Error on a timeout.
 */
export async function runJourney(options: JourneyOptions): Promise<JourneyResult> {
  const step = options.onStep ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const admin = createPorticoClient({ baseUrl: options.gatewayUrl });
  const customer = createPorticoClient({ baseUrl: options.gatewayUrl });

  const registered = await admin.POST("/users", {
    body: { email: options.adminEmail, password: options.adminPassword, name: "Portico Admin" },
  });
  step(
    registered.response.status === 409
      ? `Administrator ${options.adminEmail} was already registered`
      : `Registered the administrator ${options.adminEmail}`,
  );
  await admin.signIn(options.adminEmail, options.adminPassword);
  const adminUser = await unwrap(admin.GET("/users/me"));
  step(`Administrator signed in (role ${adminUser.role})`);

  const customerEmail = `customer-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const customerPassword = "a-customer-password";
  const customerUser = await unwrap(
    customer.POST("/users", {
      body: { email: customerEmail, password: customerPassword, name: "Grace Customer" },
    }),
  );
  step(`Registered the customer ${customerEmail}`, customerUser);
  await customer.signIn(customerEmail, customerPassword);
  step("Customer signed in");

  const product = await unwrap(
    admin.POST("/products", {
      body: {
        name: `Espresso cup ${new Date().toISOString().slice(11, 19)}`,
        description: "Porcelain, 80 ml",
        price: { amount: 1299, currency: "EUR" },
        stock: 0,
      },
    }),
  );
  step(`Created product "${product.name}" with stock ${product.stock}`, product);

  const subscription = await unwrap(
    customer.POST("/subscriptions", { body: { productId: product.id } }),
  );
  step("Customer subscribed to back-in-stock for it", subscription);

  // Listen before the restock: the notification must arrive live, not be found later.
  let restockSentAt = 0;
  let arrived: (live: JourneyResult["live"]) => void = () => undefined;
  const liveArrival = new Promise<JourneyResult["live"]>((resolve) => {
    arrived = resolve;
  });
  const stream = await subscribeWhenAvailable(
    customer,
    (event) => {
      if (event.event === "notification" && event.data.productId === product.id) {
        arrived({
          notification: event.data,
          eventId: event.id,
          latencyMs: Date.now() - restockSentAt,
        });
      }
    },
    timeoutMs,
  );
  let restocked: Schemas["Product"];
  let live: JourneyResult["live"];
  try {
    step("Customer is listening for live notifications (GET /events, Server-Sent Events)");

    restockSentAt = Date.now();
    restocked = await unwrap(
      admin.PUT("/products/{productId}/stock", {
        params: { path: { productId: product.id } },
        body: { quantity: 25 },
      }),
    );
    step(`Restocked it to ${restocked.stock}`);

    live = await Promise.race([
      liveArrival,
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(new Error(`Timed out after ${timeoutMs} ms waiting for the live notification`)),
          timeoutMs,
        ).unref(),
      ),
    ]);
  } finally {
    stream.close();
  }
  step(
    `Live notification arrived ${live.latencyMs} ms after the restock: "${live.notification.title}" (event ${live.eventId})`,
  );

  const notification = await waitFor(
    "the back-in-stock notification in the customer's inbox",
    async () => {
      const page = await unwrap(
        customer.GET("/notifications", { params: { query: { unread: true } } }),
      );
      return page.items.find((n) => n.productId === product.id);
    },
    timeoutMs,
  );
  step(`Inbox notification arrived: "${notification.title}"`, notification);

  const email = await waitFor(
    `the email to ${customerEmail}`,
    async () => {
      const response = await fetch(`${options.mailApiUrl}/api/v1/messages`);
      const { messages } = (await response.json()) as { messages: MailSummary[] };
      const found = messages.find((m) => m.To.some((t) => t.Address === customerEmail));
      return found ? { to: customerEmail, subject: found.Subject } : undefined;
    },
    timeoutMs,
  );
  step(`Email delivered to ${email.to}: "${email.subject}"`);

  const productPath = { params: { path: { productId: product.id } } };
  const posted = await unwrap(
    customer.POST("/products/{productId}/reviews", {
      ...productPath,
      body: { text: "Lovely cup, the espresso stays hot. The handle is a bit small.", rating: 4 },
    }),
  );
  step(`Customer reviewed it (${posted.rating} stars): "${posted.text}"`);
  const review = await waitFor(
    "the ML service's score of the review",
    async () => {
      const page = await unwrap(customer.GET("/products/{productId}/reviews", productPath));
      const found = page.items.find((r) => r.id === posted.id);
      return found?.sentiment ? found : undefined;
    },
    timeoutMs,
  );
  const reviewed = await unwrap(customer.GET("/products/{productId}", productPath));
  step(
    `The ML service scored the review ${review.sentiment?.label} (compound ${review.sentiment?.compound}, ${review.sentiment?.model.name} ${review.sentiment?.model.version}); the product's average sentiment is ${reviewed.averageSentiment} over ${reviewed.reviewCount} review(s)`,
    review.sentiment,
  );

  const bad = await admin.POST("/products", {
    // A deliberately invalid body: the gateway must reject it before any service sees it.
    body: { name: "", price: { amount: -1, currency: "euro" } } as never,
  });
  const badRequest = { status: bad.response.status, problem: bad.error as Problem };
  step(`Invalid request rejected by the gateway with ${badRequest.status}`, badRequest.problem);

  return {
    admin: adminUser,
    customer: customerUser,
    product,
    subscription,
    restocked,
    live,
    notification,
    email,
    review,
    reviewed,
    badRequest,
  };
}
