// Bad input to `./servelab run`: each error names the input, the problem and the fix, and a refused run
// leaves no run folder. No notebook runs here.
import assert from "node:assert/strict";
import { main, parseRunArgs } from "./run.ts";

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

Deno.test("non-numeric and out-of-range run parameters name the flag and the fix", () => {
  for (const v of ["abc", "0", "-5", "1e"]) {
    assert.throws(
      () => parseRunArgs(["--timeout", v]),
      new RegExp(`--timeout '${v}' must be a positive number of seconds`),
    );
  }
  assert.equal(parseRunArgs(["--timeout", "90"]).timeout_s, 90);
  assert.throws(
    () => parseRunArgs(["--size", "huge"]),
    /--size 'huge' is not a size; use default, test or teach/,
  );
  assert.throws(() => parseRunArgs(["--timeout"]), /--timeout needs a value/);
});

Deno.test("--tiers picks tiers by their one name; a bad or unmatched list is refused before a run folder exists", async () => {
  assert.deepEqual(parseRunArgs(["--tiers", "ttft,prefix"]).tiers, ["ttft", "prefix"]);
  assert.deepEqual(parseRunArgs(["--tiers=kv"]).tiers, ["kv"]);
  assert.deepEqual(parseRunArgs(["--tiers", "batching,writeup"]).tiers, ["batching", "writeup"]);
  assert.throws(
    () => parseRunArgs(["--tiers", "01"]),
    /--tiers '01' is not a list of tier names \(unknown: 01\); name tiers by their one name: ttft \(01_ttft\), prefix \(02_prefix_caching\)/,
  );
  assert.throws(() => parseRunArgs(["--tiers", ","]), /is not a list of tier names/);
  const notebooksDir = await Deno.makeTempDir();
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${notebooksDir}/01_ttft.ipynb`, "{}");
    const r = await quietly(() => main(["--engine", "sim", "--tiers", "kv"], { notebooksDir, root }));
    assert.equal(r.code, 2);
    assert.match(r.text, /--tiers kv matches no tier notebook; the tier notebooks are 01_ttft\.ipynb/);
    assert.deepEqual([...Deno.readDirSync(root)], [], "no run folder");
  } finally {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run refuses an external engine on a non-loopback host unless --allow-remote, before any request", async () => {
  const root = await Deno.makeTempDir();
  const notebooksDir = await Deno.makeTempDir();
  const calls: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request) => {
    calls.push(String(input));
    return Promise.reject(new Error("the spy sends nothing"));
  };
  const prev = Deno.env.get("SERVELAB_ALLOW_REMOTE");
  Deno.env.delete("SERVELAB_ALLOW_REMOTE");
  try {
    for (const url of ["http://10.0.0.1:8000", "http://192.168.1.7:8000", "https://example.com"]) {
      const r = await quietly(() => main(["--engine", "external", "--url", url], { root, notebooksDir }));
      assert.equal(r.code, 1, r.text);
      assert.match(
        r.text,
        /is not loopback, and the lab sends load to local servers only\. Add --allow-remote/,
      );
    }
    assert.deepEqual([...Deno.readDirSync(root)], [], "no run folder for a refused run");
    // Allowed, the run goes on to check the server (the spy stands in for it: nothing leaves the machine).
    const allowed = await quietly(() =>
      main(["--engine", "external", "--url", "http://10.0.0.1:8000", "--allow-remote"], {
        root,
        notebooksDir,
      })
    );
    assert.equal(allowed.code, 1, allowed.text);
    assert.match(
      allowed.text,
      /Cannot reach external engine at http:\/\/10\.0\.0\.1:8000: .*the spy sends nothing/,
    );
    assert.deepEqual(
      calls,
      ["http://10.0.0.1:8000/v1/models"],
      "only the allowed run sent a request (to the spy)",
    );
  } finally {
    globalThis.fetch = realFetch;
    if (prev !== undefined) Deno.env.set("SERVELAB_ALLOW_REMOTE", prev);
    await Deno.remove(root, { recursive: true });
    await Deno.remove(notebooksDir, { recursive: true });
  }
});

Deno.test("run --url to a server that is not OpenAI-compatible names the URL, what came back and the fix, before a run folder exists", async () => {
  const root = await Deno.makeTempDir();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html><body>Grafana</body></html>", { headers: { "content-type": "text/html" } }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const r = await quietly(() => main(["--engine", "external", "--url", url], { root }));
    assert.equal(r.code, 1, r.text);
    assert.match(
      r.text,
      new RegExp(`External engine at ${url} is not OpenAI-compatible: GET ${url}/v1/models returned 200`),
    );
    assert.match(r.text, /<html><body>Grafana/);
    assert.match(r.text, /Expected 200 with JSON .* Check that the URL is the engine's base URL/);
    assert.deepEqual([...Deno.readDirSync(root)], [], "no run folder");
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});
