import assert from "node:assert/strict";
import { dispatch, VERBS } from "./cli.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

Deno.test("an unknown verb prints the usage with the verb list and exits 2", async () => {
  const c = capture();
  assert.equal(await dispatch(["frobnicate"], c.io), 2);
  assert.match(c.err[0], /^servelab: unknown verb 'frobnicate'\./);
  for (const v of Object.keys(VERBS)) assert.match(c.err[0], new RegExp(`\\n  ${v} +\\S`));
  assert.equal(await dispatch(["toString"], c.io), 2, "object prototype names are not verbs");
});

Deno.test("help prints the usage and exits 0; no verb exits 2", async () => {
  const c = capture();
  assert.equal(await dispatch(["help"], c.io), 0);
  assert.match(c.out[0], /Usage: \.\/servelab <verb>/);
  assert.equal(await dispatch([], c.io), 2);
});

Deno.test("every verb in the table loads a module with main()", async () => {
  for (const [verb, { load }] of Object.entries(VERBS)) {
    assert.equal(typeof (await load()).main, "function", verb);
  }
});

const ROOT_DIR = new URL("..", import.meta.url).pathname;

async function servelab(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(`${ROOT_DIR}servelab`, {
    args,
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

Deno.test("./servelab help, -h and --help list every verb, one line each", async () => {
  for (const flag of ["help", "-h", "--help"]) {
    const { code, out } = await servelab(flag);
    assert.equal(code, 0, out);
    for (const verb of ["test", "lab", "setup", ...Object.keys(VERBS)]) {
      assert.equal(
        out.split("\n").filter((l) => l.startsWith(`  ${verb} `)).length,
        1,
        `${flag}: ${verb}\n${out}`,
      );
    }
  }
});

Deno.test("every verb answers --help with its usage and exit 0", async () => {
  for (const verb of ["setup", "lab", "test", ...Object.keys(VERBS)]) {
    const { code, out } = await servelab(verb, "--help");
    assert.equal(code, 0, `${verb} --help: ${out}`);
    assert.match(out, /Usage|usage/, `${verb} --help printed no usage: ${out}`);
  }
});
