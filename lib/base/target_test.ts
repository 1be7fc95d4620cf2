import assert from "node:assert/strict";
import { ALLOW_REMOTE_ENV, checkLoadTarget } from "./target.ts";

const REMOTE = [
  "http://10.0.0.1:8000",
  "http://192.168.1.20:8000/",
  "https://example.com",
  "http://[2001:db8::1]:80",
];

Deno.test("loopback hosts pass; a remote host passes only when allowed explicitly or by the environment", () => {
  for (
    const url of ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:8000", "http://127.3.2.1"]
  ) {
    checkLoadTarget(url, false);
  }
  for (const url of REMOTE) {
    assert.throws(() => checkLoadTarget(url, false), /is not loopback/);
    checkLoadTarget(url, true);
  }
  const prev = Deno.env.get(ALLOW_REMOTE_ENV);
  try {
    Deno.env.set(ALLOW_REMOTE_ENV, "1");
    checkLoadTarget(REMOTE[0]);
    Deno.env.set(ALLOW_REMOTE_ENV, "yes");
    assert.throws(() => checkLoadTarget(REMOTE[0]), /not loopback/, "only 1 means allowed");
  } finally {
    if (prev === undefined) Deno.env.delete(ALLOW_REMOTE_ENV);
    else Deno.env.set(ALLOW_REMOTE_ENV, prev);
  }
  assert.throws(() => checkLoadTarget("127.0.0.1:8000", false), /not a URL|use http or https/);
  assert.throws(() => checkLoadTarget("ftp://127.0.0.1/", false), /use http or https, not ftp:/);
});
