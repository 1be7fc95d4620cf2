/**
 * The Deno floor of bench/client_fidelity.ts: floor_client.c's loop in Deno, to tell what the runtime
 * costs from what the lab's client costs. One async loop per connection: write the request, await each
 * socket read, stamp it, scan the bytes for `"text":"` followed by a non-quote (a content event), nothing
 * else: no HTTP library, no SSE parser, no JSON.parse, no records. Same arguments and output as
 * floor_client.c:
 *
 *   deno run -A bench/floor/deno_floor.ts PORT N COUNT ID_PREFIX OUT_FILE
 * @module
 */
const [portS, nS, countS, prefix, outFile] = Deno.args;
const port = Number(portS), n = Number(nS), count = Number(countS);
const enc = new TextEncoder();
let next = 0;
const lines: string[] = [];
const PAT = enc.encode('"text":"');
function findAll(buf: Uint8Array, len: number, from: number, onHit: () => void): number {
  let i = from;
  outer: for (; i + PAT.length < len; i++) {
    for (let k = 0; k < PAT.length; k++) if (buf[i + k] !== PAT[k]) continue outer;
    if (buf[i + PAT.length] !== 34) onHit();
    i += PAT.length;
  }
  return Math.max(from, len - PAT.length);
}
async function stream() {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  while (next < count) {
    const req = next++;
    const body =
      `{"model":"dial-model","prompt":"deno floor ${req}","max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}`;
    const msg = enc.encode(
      `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-request-id: ${prefix}-${req}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    const tSend = performance.now();
    await conn.write(msg);
    let len = 0, scanned = 0, bodyAt = -1;
    const chunks: number[] = [];
    while (true) {
      const r = await conn.read(buf.subarray(len));
      const t = performance.now();
      if (r === null) throw new Error("closed");
      len += r;
      if (bodyAt < 0) {
        for (let i = 0; i + 3 < len; i++) {
          if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
            bodyAt = i + 4;
            break;
          }
        }
        if (bodyAt < 0) continue;
        scanned = bodyAt;
      }
      scanned = findAll(buf, len, scanned, () => chunks.push(t));
      if (len - 5 >= bodyAt && buf[len - 5] === 48 && buf[len - 4] === 13 && buf[len - 1] === 10) break;
    }
    lines.push(`${prefix}-${req} ${tSend.toFixed(4)} ${chunks.map((c) => c.toFixed(4)).join(" ")}`);
  }
  conn.close();
}
await Promise.all(Array.from({ length: n }, stream));
await Deno.writeTextFile(outFile, lines.join("\n") + "\n");
