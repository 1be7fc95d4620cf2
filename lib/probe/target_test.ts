import assert from "node:assert/strict";
import { launch } from "../engine/launch.ts";
import { parseServeConfig } from "../engine/config.ts";
import { createClock } from "./clock.ts";
import { runLoad } from "./load.ts";
import { probe } from "./stream.ts";
import { ALLOW_REMOTE_ENV } from "../base/target.ts";
import type { ProbeRequest } from "./types.ts";

const REMOTE = [
  "http://10.0.0.1:8000",
  "http://192.168.1.20:8000/",
  "https://example.com",
  "http://[2001:db8::1]:80",
];
const req: ProbeRequest = { endpoint: "completions", model: "m", prompt: "Hi", max_tokens: 4 };

/** Runs `fn` with `fetch` replaced by a spy that records every call and never touches the network. */
async function withFetchSpy(fn: () => Promise<void>): Promise<string[]> {
  const calls: string[] = [];
  const real = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request) => {
    calls.push(String(input instanceof Request ? input.url : input));
    return Promise.reject(new Error("the spy sends nothing"));
  };
  try {
    await fn();
  } finally {
    globalThis.fetch = real;
  }
  return calls;
}

Deno.test("load to a non-loopback host is refused before any request is sent", async () => {
  const prev = Deno.env.get(ALLOW_REMOTE_ENV);
  Deno.env.delete(ALLOW_REMOTE_ENV);
  try {
    const calls = await withFetchSpy(async () => {
      for (const url of REMOTE) {
        await assert.rejects(
          runLoad(url, [req], { kind: "concurrency", n: 2 }, { count: 4 }),
          /Refusing to send load to .*is not loopback.*allow_remote: true.*SERVELAB_ALLOW_REMOTE=1.*--allow-remote/,
        );
        await assert.rejects(probe(url, req, { clock: createClock() }), /Refusing to send load to /);
      }
      await assert.rejects(
        launch(parseServeConfig({ engine: "external", url: "http://10.0.0.1:8000", model: "m" })),
        /Refusing external engine at http:\/\/10\.0\.0\.1:8000: host '10\.0\.0\.1' is not loopback/,
      );
    });
    assert.deepEqual(calls, [], "no request left the process");
  } finally {
    if (prev !== undefined) Deno.env.set(ALLOW_REMOTE_ENV, prev);
  }
});
