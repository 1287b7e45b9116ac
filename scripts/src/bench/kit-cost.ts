/**
 * The kit's cost per request (issue 14 goal 1): `getProduct`, `createProduct` and
 * `getCurrentUser` (`GET /users/me`) on the products and users services, each beside the same
 * operation of the Fastify reference service (reference/), on the same databases, measured by
 * the server's CPU time per request (from /proc) and by requests per second. Only the users and
 * products services run (with their own NATS and PostgreSQL); tokens come from the users service.
 */
import { createDatabase, outboxBacklog } from "@portico/kit";
import { createBenchProduct, signInBenchAccounts } from "./accounts.js";
import { Stack } from "./children.js";
import { NEW_PRODUCT_BODY } from "./gateway-cost.js";
import type { LoadResult, LoadTarget } from "./load.js";
import { pidListeningOn, residentBytes } from "./memory.js";
import { startReference } from "./reference/launch.js";
import { measureInterleaved, type RunSettings } from "./runner.js";
import { type StandaloneSystem, startStandaloneSystem } from "./standalone-system.js";

/** One operation, on the kit and on the reference. */
export interface KitComparison {
  /** operationId and request, e.g. "`getProduct` (`GET /products/{id}`)". */
  operation: string;
  kit: LoadResult;
  reference: LoadResult;
}

/** What the kit-cost section measured. */
export interface KitCostResult {
  comparisons: KitComparison[];
  /** Resident bytes (VmRSS) of each server 2 s after start, before any load, by name. */
  idleResident: Record<string, number | undefined>;
}

/** The processes this section needs. */
export const KIT_PROCESSES = ["users", "products"] as const;

/** The users and products services, a product to read, and tokens (admin and user). */
export async function startKitSystem(name: string) {
  const system = await startStandaloneSystem({ name, processes: KIT_PROCESSES });
  try {
    const users = system.urls.byProcess.users as string;
    const products = system.urls.byProcess.products as string;
    const { admin, user } = await signInBenchAccounts(users, system.adminEmail);
    const productId = await createBenchProduct(products, admin);
    return { system, users, products, admin, user, productId };
  } catch (error) {
    await system.stop();
    throw error;
  }
}

/** The requests of the three operations against `baseUrl`. */
export function kitTargets(
  baseUrl: string,
  productId: string,
  tokens: { admin: string; user: string },
): Record<"getProduct" | "createProduct" | "getCurrentUser", LoadTarget> {
  return {
    getProduct: { url: `${baseUrl}/products/${productId}` },
    createProduct: {
      url: `${baseUrl}/products`,
      method: "POST",
      headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
      body: NEW_PRODUCT_BODY,
    },
    getCurrentUser: {
      url: `${baseUrl}/users/me`,
      headers: { authorization: `Bearer ${tokens.user}` },
    },
  };
}

/** The reference service started on `system`'s databases, verifying tokens with its users service. */
export function startReferenceOn(system: StandaloneSystem, nodeFlags?: readonly string[]) {
  const { products, users } = system.databaseUrls;
  if (!products || !users) throw new Error("the system has no products or users database");
  return startReference({
    productsDatabaseUrl: products,
    usersDatabaseUrl: users,
    jwksUrl: `${system.urls.byProcess.users}/.well-known/jwks.json`,
    ...(nodeFlags ? { nodeFlags } : {}),
  });
}

/** How long the products outbox may take to drain between two runs of `createProduct`. */
const OUTBOX_DRAIN_TIMEOUT_MS = 60_000;

/**
 * Runs the section. Each operation is measured on the kit and on the reference in interleaved
 * rounds (`settings.rounds`, see measureInterleaved). Both write the created product's event into
 * the products database's outbox, whose rows the products service's relay publishes: before each
 * `createProduct` run the outbox is let drain, so the products service's CPU in a run counts
 * relaying that run's rows only, never the other side's.
 */
export async function benchKitCost(settings: RunSettings): Promise<KitCostResult> {
  settings.say("kit: starting users and products (own NATS, PostgreSQL) and the reference …");
  const stack = new Stack();
  try {
    const kit = await startKitSystem("bench-kit");
    stack.add(kit, kit.system.stop);
    const reference = await startReferenceOn(kit.system);
    stack.add(reference, reference.stop);
    const productsDb = createDatabase(kit.system.databaseUrls.products as string, 1);
    stack.add(productsDb, () => productsDb.destroy());
    const outboxDrained = async () => {
      const deadline = Date.now() + OUTBOX_DRAIN_TIMEOUT_MS;
      while ((await outboxBacklog(productsDb)).pending > 0) {
        if (Date.now() > deadline) throw new Error("the products outbox did not drain in 60 s");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const pid = async (url: string) => {
      const found = await pidListeningOn(Number(new URL(url).port));
      if (found === undefined) throw new Error(`no process listens on ${url}`);
      return found;
    };
    const tokens = { admin: kit.admin.token, user: kit.user.token };
    const onProducts = kitTargets(kit.products, kit.productId, tokens);
    const onUsers = kitTargets(kit.users, kit.productId, tokens);
    const onReference = kitTargets(reference.url, kit.productId, tokens);
    const productsPid = await pid(kit.products);
    const usersPid = await pid(kit.users);
    const referencePid = reference.process.pid as number;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleResident = {
      users: await residentBytes(usersPid),
      products: await residentBytes(productsPid),
      reference: await residentBytes(referencePid),
    };

    const compare = async (
      operation: string,
      name: keyof typeof onProducts,
      kitTarget: LoadTarget,
      kitPid: number,
    ): Promise<KitComparison> => {
      const before = name === "createProduct" ? outboxDrained : undefined;
      const [kitResult, referenceResult] = (await measureInterleaved(
        settings,
        [
          { label: `(kit) ${name} on the kit`, target: kitTarget, cpuGroup: kitPid, before },
          {
            label: `(kit) ${name} on the reference`,
            target: onReference[name],
            cpuGroup: referencePid,
            before,
          },
        ],
        settings.rounds,
      )) as [LoadResult, LoadResult];
      return { operation, kit: kitResult, reference: referenceResult };
    };
    const comparisons = [
      await compare(
        "`getProduct` (`GET /products/{id}`)",
        "getProduct",
        onProducts.getProduct,
        productsPid,
      ),
      await compare(
        "`getCurrentUser` (`GET /users/me`, bearer token verified)",
        "getCurrentUser",
        onUsers.getCurrentUser,
        usersPid,
      ),
      await compare(
        "`createProduct` (`POST /products`, admin token, body validated, row + outbox event committed)",
        "createProduct",
        onProducts.createProduct,
        productsPid,
      ),
    ];
    return { comparisons, idleResident };
  } finally {
    await stack.stopAll();
  }
}
