// Secrets never reach a run folder or a message: user:password@ in a URL is stripped before anything is
// written, and a value in SERVELAB_API_KEY_ENV / --api-key-env that is not a variable name is refused
// without being echoed. No notebook runs here (an empty notebooks folder: manifest and index only).
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeConfig } from "../../lib/engine/config.ts";
import { serveSim } from "../../lib/sim/server.ts";
import { labEnv } from "../../lib/tiers/lab_env.ts";
import { main as health } from "./health.ts";
import { main, parseRunArgs } from "./run.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

async function quietly(fn: () => Promise<number>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await fn(), text: lines.join("\n") };
  } finally {
    [console.log, console.error] = [log, err];
  }
}

function allText(dir: string): string {
  let out = "";
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    out += e.isDirectory ? allText(p) : `${p}\n${Deno.readTextFileSync(p)}\n`;
  }
  return out;
}

Deno.test("run --url with user:password@ strips it before anything is written, and says so", async () => {
  assert.equal(parseRunArgs(["--url", "http://admin:PASSWORD@127.0.0.1:8000"]).url, "http://127.0.0.1:8000");
  await using srv = await serveSim(parseServeConfig({ engine: "sim", model: MODEL }), { port: 0 });
  const root = await Deno.makeTempDir();
  const notebooksDir = await Deno.makeTempDir();
  try {
    const url = `http://admin:PASSWORD@127.0.0.1:${srv.port}`;
    const r = await quietly(() => main(["--engine", "external", "--url", url], { root, notebooksDir }));
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /removed user:password@ from --url/);
    assert.ok(!r.text.includes("PASSWORD"), r.text);
    const text = allText(root);
    assert.match(text, new RegExp(`http://127\\.0\\.0\\.1:${srv.port}`), "the URL itself is kept");
    assert.ok(!text.includes("PASSWORD") && !text.includes("admin:"), "no userinfo in any file of the run");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(notebooksDir, { recursive: true });
  }
});

Deno.test("a key pasted into SERVELAB_API_KEY_ENV or --api-key-env is refused without echoing it", async () => {
  const KEY = "sk-live-SECRET0123456789";
  assert.throws(
    () => labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_API_KEY_ENV: KEY }),
    (e: Error) => /not a valid environment variable name/.test(e.message) && !e.message.includes(KEY),
  );
  assert.equal(labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_API_KEY_ENV: "my_key" }).api_key_env, "my_key");
  assert.equal(
    labEnv({ SERVELAB_URL: "http://u:PW@127.0.0.1:9/", SERVELAB_ENGINE: "external" }).url,
    "http://127.0.0.1:9/",
  );
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  const code = await health(["--url", "http://u:PW@127.0.0.1:9", "--api-key-env", KEY], io);
  assert.equal(code, 2);
  assert.match(out.join("\n"), /--api-key-env is not a valid environment variable name/);
  assert.ok(!out.join("\n").includes(KEY) && !out.join("\n").includes("PW"), out.join("\n"));
  // And before a run folder exists.
  const root = await Deno.makeTempDir();
  const notebooksDir = await Deno.makeTempDir();
  const prev = Deno.env.get("SERVELAB_API_KEY_ENV");
  Deno.env.set("SERVELAB_API_KEY_ENV", KEY);
  try {
    const r = await quietly(() => main(["--engine", "sim"], { root, notebooksDir }));
    assert.notEqual(r.code, 0);
    assert.match(r.text, /SERVELAB_API_KEY_ENV is not a valid environment variable name/);
    assert.ok(!r.text.includes(KEY), r.text);
    assert.deepEqual([...Deno.readDirSync(root)], [], "no run folder");
  } finally {
    if (prev === undefined) Deno.env.delete("SERVELAB_API_KEY_ENV");
    else Deno.env.set("SERVELAB_API_KEY_ENV", prev);
    await Deno.remove(root, { recursive: true });
    await Deno.remove(notebooksDir, { recursive: true });
  }
});
