/**
 * The names a scaffolded service derives from its own (`orders`): the entity (`order`), their
 * PascalCase forms, the stream name and a free port.
 */
import type { ServiceDeclaration } from "../services/declarations.js";

/** Every placeholder of the templates (scripts/templates) and its value. */
export type Placeholders = Record<
  "__name__" | "__Name__" | "__NAME__" | "__entity__" | "__Entity__" | "__port__",
  string
>;

/** A new service's name: lower-case letters and digits, starting with a letter. */
export const NEW_SERVICE_NAME = /^[a-z][a-z0-9]{1,30}$/;

const pascal = (word: string) => `${word[0]?.toUpperCase()}${word.slice(1)}`;

/**
 * The entity of a service: its name without a plural `s` (`orders` → `order`), else the name
 * followed by `item` (`inventory` → `inventoryitem`), so list and get operations differ.
 */
export function entityOf(name: string): string {
  return name.endsWith("s") && name.length > 2 ? name.slice(0, -1) : `${name}item`;
}

/** The lowest port above every declared one (services 8081 and up; replicas add 100s). */
export function nextPort(services: readonly ServiceDeclaration[]): number {
  return Math.max(8080, ...services.map((s) => s.port)) + 1;
}

/** The placeholders of service `name` on `port`. */
export function placeholdersOf(name: string, port: number): Placeholders {
  const entity = entityOf(name);
  return {
    __name__: name,
    __Name__: pascal(name),
    __NAME__: name.toUpperCase(),
    __entity__: entity,
    __Entity__: pascal(entity),
    __port__: String(port),
  };
}

/** `text` with every placeholder replaced; `"__port__"` (quoted, as JSON templates hold it) by the number. */
export function fill(text: string, placeholders: Placeholders): string {
  return text.replaceAll('"__port__"', placeholders.__port__).replace(
    // Python's own `if __name__ == "__main__":` is not a placeholder.
    /__(name|Name|NAME|entity|Entity|port)__(?! == "__main__")/g,
    (m) => placeholders[m as keyof Placeholders],
  );
}
