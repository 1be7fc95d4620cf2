import assert from "node:assert/strict";
import { CHROMIUM_ARGS, chromiumPath, problemsText } from "./chromium.ts";

Deno.test("a missing Chromium is refused with the path and how to install it", () => {
  const env = (v?: string) => ({ get: (k: string) => (k === "SERVELAB_CHROMIUM" ? v : undefined) });
  assert.throws(
    () => chromiumPath(env("/nonexistent/chromium")),
    /Chromium is not at \/nonexistent\/chromium.*apt-get install -y chromium.*SERVELAB_CHROMIUM/s,
  );
  // Chromium must not call home on a closed network, and runs as root without a sandbox.
  for (const flag of ["--disable-background-networking", "--disable-component-update", "--no-sandbox"]) {
    assert.ok(CHROMIUM_ARGS.includes(flag), flag);
  }
});

Deno.test("page problems are listed by kind, and nothing is listed for a clean page", () => {
  assert.equal(
    problemsText({ console_errors: [], page_errors: [], failed_requests: [], dialogs: [] }),
    undefined,
  );
  const text = problemsText({
    console_errors: [],
    page_errors: [],
    failed_requests: ["http://x/a.js: HTTP 404"],
    dialogs: ["alert: pwned"],
  });
  assert.equal(text, "failed_requests:\n  http://x/a.js: HTTP 404\ndialogs:\n  alert: pwned");
});
