/**
 * Debian's Chromium driven by Playwright (playwright-core, which downloads no browser): where it is, the
 * flags it needs on a closed network, and a page watcher that collects what a person would call broken
 * (console errors, uncaught exceptions, failed or 4xx/5xx requests, dialogs).
 *
 * Chromium runs headless with a fresh profile in a temporary folder; `--disable-background-networking`
 * and friends stop it from calling home (on a closed network those connections are refused, many at a
 * time). Playwright starts it as the leader of its own process group and kills the group on close.
 * @module
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Flags for a headless Chromium that makes no connection of its own and runs as root. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/**
 * The Chromium executable: `$SERVELAB_CHROMIUM`, else /usr/bin/chromium. Throws a message saying how to
 * install it when it is missing.
 *
 * @example
 * ```ts
 * const exe = chromiumPath(); // "/usr/bin/chromium"
 * ```
 */
export function chromiumPath(env: { get(name: string): string | undefined } = Deno.env): string {
  const path = env.get("SERVELAB_CHROMIUM") || DEFAULT_CHROMIUM;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // reported below
  }
  throw new Error(
    `Cannot run the browser tests: Chromium is not at ${path}. Install Debian's package ` +
      "(as root: apt-get update && apt-get install -y chromium; ./servelab setup does it when run as root), " +
      "or point SERVELAB_CHROMIUM at a Chromium binary.",
  );
}

/** A headless Chromium with its own fresh profile; closing it kills the browser and removes the profile. */
export interface Browser extends AsyncDisposable {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Options of {@link openBrowser}. */
export interface OpenBrowserOptions {
  /** Viewport, CSS pixels. Default 1280 x 900. */
  width?: number;
  height?: number;
  /** Milliseconds for Playwright actions and waits. Default 20_000. */
  timeout_ms?: number;
}

/**
 * Starts headless Chromium with a fresh profile.
 *
 * @example
 * ```ts
 * await using b = await openBrowser();
 * const page = await b.context.newPage();
 * ```
 */
export async function openBrowser(opts: OpenBrowserOptions = {}): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "servelab-chromium-" });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
      timeout: 60_000,
    });
  } catch (err) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw err;
  }
  context.setDefaultTimeout(opts.timeout_ms ?? 20_000);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await context.close().catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  return { context, close, [Symbol.asyncDispose]: close };
}

/** What went wrong on a page, as seen from the browser. */
export interface PageProblems {
  console_errors: string[];
  page_errors: string[];
  failed_requests: string[];
  /** Messages of alert/confirm/prompt dialogs the page opened (each is dismissed). */
  dialogs: string[];
}

/**
 * Records a page's console errors, uncaught exceptions, failed requests (network errors and HTTP status
 * >= 400) and dialogs from now on; returns the live lists.
 *
 * @example
 * ```ts
 * const problems = watchPage(page);
 * await page.goto(url);
 * assert.deepEqual(problems.console_errors, []);
 * ```
 */
export function watchPage(page: Page): PageProblems {
  const p: PageProblems = { console_errors: [], page_errors: [], failed_requests: [], dialogs: [] };
  page.on("console", (m) => {
    if (m.type() === "error") p.console_errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (err) => p.page_errors.push(String(err)));
  page.on("requestfailed", (r) => p.failed_requests.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) p.failed_requests.push(`${r.url()}: HTTP ${r.status()}`);
  });
  page.on("dialog", (d) => {
    p.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return p;
}

/** undefined when nothing went wrong; otherwise a message listing every problem (for an assertion). */
export function problemsText(p: PageProblems): string | undefined {
  const parts = Object.entries(p).filter(([, v]) => (v as string[]).length > 0)
    .map(([k, v]) => `${k}:\n  ${(v as string[]).join("\n  ")}`);
  return parts.length ? parts.join("\n") : undefined;
}
