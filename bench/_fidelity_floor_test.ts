import assert from "node:assert/strict";
import { buildC, cDialProcess, DENO_FLOOR, parseTruths, runFloor } from "./_fidelity_floor.ts";

Deno.test("the C dial server's truth lines parse into ground truth, prompts unescaped", () => {
  const [t] = parseTruths('r-7 3 100.5000 150.2500 160.0000\tsay \\"hi\\"\\n\n');
  assert.deepEqual(t.request_id, "r-7");
  assert.deepEqual(t.index, 3);
  assert.deepEqual(t.arrival_ms, 100.5);
  assert.deepEqual(t.token_ms, [150.25, 160]);
  assert.deepEqual(t.first_token_ms, 150.25);
  assert.deepEqual(t.body.prompt, 'say "hi"\n');
});

const cc = await new Deno.Command("cc", { args: ["--version"], stdout: "null", stderr: "null" }).output()
  .then((o) => o.success, () => false);

Deno.test({
  name: "the C dial server keeps its dial, and both floor clients read every token of every stream",
  ignore: !cc,
  async fn() {
    const server = await buildC("dial_server");
    const client = await buildC("floor_client");
    if (!("path" in server) || !("path" in client)) throw new Error("cc is present, so both must build");
    await using srv = await cDialProcess(server.path, {
      ttft_ms: 40,
      itl_ms: 5,
      tokens_base: 3,
      tokens_spread: 3,
    });
    for (const [cmd, tag] of [[[client.path], "c"], [DENO_FLOOR, "d"]] as const) {
      const { timings, failed } = await runFloor(cmd, srv.baseUrl, 4, 4, 8, tag);
      assert.deepEqual(failed, 0);
      assert.deepEqual(timings.length, 8);
      const truths = new Map((await srv.truths()).map((t) => [t.request_id, t]));
      for (const c of timings) {
        const t = truths.get(c.key)!;
        assert(t, `the server has a truth for ${c.key}`);
        // Output lengths are 3 + (arrival index % 3); the client saw each token as its own gap.
        assert.deepEqual(t.token_ms.length, 3 + (t.index % 3));
        assert.deepEqual(c.itl_ms!.length, t.token_ms.length - 1);
        // The dial: first token 40 ms after arrival, and the server wrote it no earlier.
        const serverTtft = t.first_token_ms! - t.arrival_ms;
        assert(serverTtft >= 40 && serverTtft < 80, `server TTFT ${serverTtft} ms`);
        // The client's TTFT contains the server's (a send precedes arrival, a write precedes the read).
        assert(c.ttft_ms! >= serverTtft, `client ${c.ttft_ms} ms < server ${serverTtft} ms`);
      }
    }
  },
});
