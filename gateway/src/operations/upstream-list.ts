/**
 * The upstream instances of each service: where they come from (`<SERVICE>_URL`) and how a list
 * of them is read.
 */

/** The environment variable holding a service's upstream URL: `products` → `PRODUCTS_URL`. */
export function upstreamEnvVar(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_URL`;
}

/** Upstream instances of one service as given: a URL, a comma-separated list, or an array. */
export type UpstreamList = string | URL | readonly (string | URL)[];

/**
 * Parses a service's upstream instances: absolute `http:`/`https:` base URLs, given as a
 * comma-separated string (as `<SERVICE>_URL` holds them) or an array.
 * @returns the URLs in the given order, or a message saying why the list is unusable (empty, not
 *   http(s), or the same instance twice, which would skew the balancing).
 */
export function parseUpstreamList(value: UpstreamList | undefined): URL[] | string {
  const items =
    typeof value === "string"
      ? value.split(",").map((item) => item.trim())
      : value instanceof URL
        ? [value]
        : [...(value ?? [])];
  const present = items.filter((item) => String(item) !== "");
  if (present.length === 0) return "must list at least one http(s) URL";
  const urls: URL[] = [];
  for (const item of present) {
    const url = parseUpstream(item);
    if (!url) return `${JSON.stringify(String(item))} is not an absolute http(s) URL`;
    if (urls.some((seen) => seen.href === url.href)) return `lists ${url.href} twice`;
    urls.push(url);
  }
  return urls;
}

function parseUpstream(value: string | URL): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
