/** The products service's environment (see `.env.example`). */
import { serviceConfigShape } from "@portico/kit";
import { z } from "zod";

/** Every variable the products service reads: the kit's service variables, PORT 8082 by default. */
export const productsConfigShape = {
  ...serviceConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
};

/** The validated configuration. */
export type ProductsConfig = z.infer<z.ZodObject<typeof productsConfigShape>>;
