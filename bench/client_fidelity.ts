/**
 * Benchmark: how much error the lab's client adds to TTFT and ITL, against ground truth and side by side
 * with peer tools (issue 10; docs/adr/0013-client-fidelity.md).
 *
 * The ground truth is the C dial server (bench/floor/dial_server.c, built with `cc` on first use): it
 * streams one chunk per token with a dialled first-token delay and gap, and stamps each token right before
 * its write(), which on loopback hands the bytes to the client's socket. The Deno dial server
 * (lib/probe/testing/dial_process.ts; `--truth deno`, or when there is no C compiler) stamps when it
 * enqueues a chunk, before its HTTP stack writes it: at 256 streams that gap reached 14-16 ms p99 and was
 * charged to every client (docs/adr/0016-fidelity-truth-and-floors.md). The embedded engine is not used:
 * its real-time server runs the simulated scheduler on its one thread and runs behind its own timeline.
 * The dial's gaps grow with concurrency so the server writes at most ~5 000 chunks/s; its lateness
 * (token write minus schedule) is printed per level.
 *
 * Two floors run the same closed-loop workload: a C client on epoll (bench/floor/floor_client.c) and its
 * loop in Deno (bench/floor/deno_floor.ts), both with no parsing. The C floor is what the server, kernel
 * and machine add; the Deno floor adds what this runtime costs on one thread; our client is judged by what
 * it adds above them.
 *
 * Parts: (1) our client (runLoad + probe, this process) closed loop at 1..1024 streams; (2) open loop at
 * rising fixed rates until the client falls behind its schedule; (3) the same closed-loop workload through
 * the peers that are installed (GuideLLM, AIPerf from tools/real/peers_install.sh; `vllm bench serve` from
 * .servelab/vllm-venv), each in its own process against the same server process, matched to the ground
 * truth by prompt text (every prompt is unique) or request id.
 *
 * Run: `deno run -A bench/client_fidelity.ts [--levels 1,16,64,256,1024] [--rates 100,200,...]
 *       [--peers guidellm,aiperf,vllm|none] [--peer-levels 16,256]
 *       [--transports socket,socket-parser,fetch,floor,deno-floor] [--truth c|deno] [--repeats 2] [--no-install]
 *       [--quick]`  (socket-parser: the socket transport with the SSE parser on every event, the path before the
 *       byte scan)
 * Installs the peers first when they are missing (tools/real/peers_install.sh) unless --no-install.
 * @module
 */
// Area entry points, not lib/mod.ts: the measured client loads only what it uses.
import {
  createClock,
  type ProbeRequest,
  type RequestRecord,
  runLoad,
  type SelfCheck,
} from "../lib/probe/mod.ts";
import { dialProcess, type DialProcessSettings, type GroundTruth } from "../lib/probe/testing/mod.ts";
import {
  clientErrors,
  type ClientTiming,
  type Dist,
  dist,
  type Errors,
  ms,
  promptKey,
  serverLateness,
  table,
} from "./_fidelity.ts";
import { buildC, cDialProcess, DENO_FLOOR, runFloor } from "./_fidelity_floor.ts";
import { availablePeers, installPeers, type PeerName, runPeer } from "./_fidelity_peers.ts";

/** Our client's two transports: raw HTTP/1.1 sockets (runLoad's default for http://) and fetch. */
export type Transport = "socket" | "fetch";
/**
 * Our client's variants: the transports, with the byte-scan content path (the default since issue 22),
 * and "socket-parser": the socket transport with every event decoded, SSE-parsed and JSON-parsed (before).
 */
export type Ours = Transport | "socket-parser";
const LABEL: Record<Ours, string> = {
  socket: "servelab probe (socket)",
  fetch: "servelab probe (fetch)",
  "socket-parser": "servelab probe (socket, SSE parser: before)",
};

/** The dial and request count of one concurrency level. */
export interface Level {
  n: number;
  dial: DialProcessSettings;
  count: number;
}

/** Dials that keep the server under ~5 000 chunks/s: gaps grow with concurrency. */
export function levelFor(n: number, quick = false): Level {
  const itl_ms = n <= 16 ? 10 : n <= 64 ? 20 : n <= 256 ? 50 : 200;
  const ttft_ms = n <= 64 ? 50 : n <= 256 ? 100 : 200;
  const count = quick ? Math.max(8, n) : Math.max(40, 2 * n);
  return { n, dial: { ttft_ms, itl_ms, tokens_base: 8, tokens_spread: 8 }, count };
}

/** A unique completions prompt (peers are matched to the ground truth by it). */
export function uniquePrompt(tag: string, i: number): string {
  return `servelab fidelity ${tag} request ${i}: say something.`;
}

function request(tag: string, i: number): ProbeRequest {
  return { endpoint: "completions", model: "dial-model", prompt: uniquePrompt(tag, i), max_tokens: 16 };
}

/** One client's result at one level. */
interface Row {
  client: string;
  level: string;
  errors: Errors;
  server: Dist;
  self_check?: SelfCheck;
  /** Send lag behind the schedule (open loop) or the freed slot (closed loop), ms. */
  dispatch?: Dist;
  note?: string;
}

function byKey(truths: GroundTruth[], key: (t: GroundTruth) => string | undefined): Map<string, GroundTruth> {
  const m = new Map<string, GroundTruth>();
  for (const t of truths) {
    const k = key(t);
    if (k !== undefined) m.set(k, t);
  }
  return m;
}

/** CPU seconds a process has used (Linux /proc), for the server's headroom. */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const f = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Our client, closed loop at n streams; warm-up n requests (opens the connections). */
async function ours(
  baseUrl: string,
  lv: Level,
  client: Ours,
  truthsFrom: () => Promise<GroundTruth[]>,
): Promise<Row> {
  const tag = `${client}-c${lv.n}-${crypto.randomUUID().slice(0, 4)}`;
  const transport: Transport = client === "fetch" ? "fetch" : "socket";
  const clock = createClock();
  const { records, self_check } = await runLoad(baseUrl, (i) => request(tag, i), {
    kind: "concurrency",
    n: lv.n,
  }, {
    count: lv.count,
    warmup: lv.n,
    clock,
    request_id_prefix: tag,
    transport,
    parse: client === "socket-parser" ? "parser" : "scan",
  });
  const failed = records.filter((r) => !r.ok).length;
  return {
    ...await closedRow(LABEL[client], tag, lv, timingsOf(records), failed, truthsFrom),
    self_check,
  };
}

/** Client timings of a run's measured, successful records (every content chunk's gap kept). */
function timingsOf(records: readonly RequestRecord[]): ClientTiming[] {
  return records.filter((r) => r.phase === "measure" && r.ok).map((r) => ({
    key: r.request_id,
    ttft_ms: r.t_first_content_ms! - r.t_send_ms,
    itl_ms: r.chunk_ms.slice(1).map((t, i) => t - r.chunk_ms[i]),
  }));
}

/** A closed-loop row: `timings` (request ids `${tag}-i`) joined to the server's truth for that tag. */
async function closedRow(
  client: string,
  tag: string,
  lv: Level,
  timings: ClientTiming[],
  failed: number,
  truthsFrom: () => Promise<GroundTruth[]>,
): Promise<Row> {
  const truths = (await truthsFrom()).filter((t) => t.request_id.startsWith(`${tag}-`));
  const ids = new Set(timings.map((t) => t.key));
  return {
    client,
    level: `c=${lv.n}`,
    errors: clientErrors(timings, byKey(truths, (t) => t.request_id)),
    server: serverLateness(truths.filter((t) => ids.has(t.request_id)), lv.dial.ttft_ms, lv.dial.itl_ms),
    note: failed ? `${failed} failed` : undefined,
  };
}

/**
 * A floor: the same workload through the minimal C client (bench/floor/floor_client.c) or its loop in
 * Deno (bench/floor/deno_floor.ts).
 */
async function floor(
  cmd: readonly string[],
  label: string,
  name: string,
  baseUrl: string,
  lv: Level,
  truthsFrom: () => Promise<GroundTruth[]>,
): Promise<Row> {
  const tag = `${name}-c${lv.n}-${crypto.randomUUID().slice(0, 4)}`;
  const { timings, failed } = await runFloor(cmd, baseUrl, lv.n, lv.n, lv.count, tag);
  return closedRow(label, tag, lv, timings, failed, truthsFrom);
}
const C_FLOOR = "floor: C, epoll, no parsing";
const D_FLOOR = "floor: Deno, raw socket, no parsing";

/** Our client, open loop at a constant rate. */
async function oursRate(
  baseUrl: string,
  rps: number,
  seconds: number,
  dial: DialProcessSettings,
  variant: { transport: Transport; schedule_margin_ms: number },
  truthsFrom: () => Promise<GroundTruth[]>,
): Promise<Row> {
  const tag = `${variant.transport}-m${variant.schedule_margin_ms}-r${rps}`;
  const { records, self_check } = await runLoad(baseUrl, (i) => request(tag, i), {
    kind: "rate",
    rps,
    burstiness: "constant",
  }, {
    count: Math.round(rps * seconds),
    warmup: Math.min(50, Math.round(rps / 4)),
    request_id_prefix: tag,
    ...variant,
  });
  const timings = timingsOf(records);
  const truths = (await truthsFrom()).filter((t) => t.request_id.startsWith(`${tag}-`));
  const failed = records.filter((r) => !r.ok).length;
  return {
    client: `${variant.transport}, ${variant.schedule_margin_ms > 0 ? "timer + yield" : "timer only"}${
      variant.transport === "socket" && variant.schedule_margin_ms > 0 ? " (default)" : ""
    }`,
    level: `${rps} req/s`,
    errors: clientErrors(timings, byKey(truths, (t) => t.request_id)),
    server: serverLateness(truths, dial.ttft_ms, dial.itl_ms),
    self_check,
    dispatch: dist(records.filter((r) => r.phase === "measure").map((r) => r.t_send_ms - r.t_intended_ms)),
    note: failed ? `${failed} failed` : undefined,
  };
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}
const list = (s: string | undefined) => s?.split(",").filter(Boolean).map(Number);

function closedTable(rows: Row[]): string {
  return table(
    [
      "client",
      "level",
      "matched",
      "TTFT err p50",
      "p99",
      "max",
      "ITL |err| p50",
      "p99",
      "max",
      "TPOT err p50",
      "p99",
      "loop lag p99",
      "max",
      "server late p50",
      "p99",
      "note",
    ],
    rows.map((r) => [
      r.client,
      r.level,
      `${r.errors.matched}/${r.errors.reported}`,
      ms(r.errors.ttft.p50),
      ms(r.errors.ttft.p99),
      ms(r.errors.ttft.max),
      ms(r.errors.itl.p50),
      ms(r.errors.itl.p99),
      ms(r.errors.itl.max),
      ms(r.errors.tpot.p50),
      ms(r.errors.tpot.p99),
      ms(r.self_check?.event_loop_lag.p99_ms),
      ms(r.self_check?.event_loop_lag.max_ms),
      ms(r.server.p50),
      ms(r.server.p99),
      r.note ?? "",
    ]),
  );
}

function rateTable(rows: Row[]): string {
  return table(
    [
      "client",
      "rate",
      "achieved",
      "send lag p50",
      "p99",
      "max",
      "TTFT err p50",
      "p99",
      "max",
      "ITL |err| p99",
      "loop lag p99",
      "server late p99",
      "client ok",
    ],
    rows.map((r) => [
      r.client,
      r.level,
      ms(r.self_check?.achieved_rps, 1),
      ms(r.dispatch?.p50),
      ms(r.dispatch?.p99),
      ms(r.dispatch?.max),
      ms(r.errors.ttft.p50),
      ms(r.errors.ttft.p99),
      ms(r.errors.ttft.max),
      ms(r.errors.itl.p99),
      ms(r.self_check?.event_loop_lag.p99_ms),
      ms(r.server.p99),
      r.self_check?.client_ok ? "yes" : `no`,
    ]),
  );
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const levels = list(arg("--levels")) ?? (quick ? [1, 16, 64] : [1, 16, 64, 256, 1024]);
  const rates = list(arg("--rates")) ?? (quick ? [50, 200] : [100, 200, 400, 800, 1600, 3200]);
  const clients = arg("--transports")?.split(",") ??
    ["socket", "socket-parser", "fetch", "floor", "deno-floor"];
  const ourClients = clients.filter((c) =>
    c === "socket" || c === "fetch" || c === "socket-parser"
  ) as Ours[];
  const transports = clients.filter((c) => c === "socket" || c === "fetch") as Transport[];
  let floorBin: string | undefined;
  if (clients.includes("floor")) {
    const built = await buildC("floor_client");
    if ("path" in built) floorBin = built.path;
    else console.log(`The floor client is left out: ${built.why}`);
  }
  // The ground truth: the C dial server (stamps at write()) unless --truth deno or no compiler.
  let cServer: string | undefined;
  if (arg("--truth") !== "deno") {
    const built = await buildC("dial_server");
    if ("path" in built) cServer = built.path;
    else console.log(`The C dial server is not available (${built.why}); the Deno dial server is the truth.`);
  }
  const serve = (s: DialProcessSettings) => cServer ? cDialProcess(cServer, s) : dialProcess(s);
  console.log(
    `Ground truth: ${
      cServer
        ? "the C dial server (bench/floor/dial_server.c; stamps right before write())"
        : "the Deno dial server"
    }.`,
  );
  const repeats = Number(arg("--repeats") ?? (quick ? 1 : 2));
  const peerArg = arg("--peers");
  const wanted = peerArg === "none" ? [] : (peerArg?.split(",") as PeerName[] | undefined);
  const peerLevels = list(arg("--peer-levels")) ?? (quick ? [16] : [16, 256]);
  const load = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  console.log(`Load average at start (1/5/15 min): ${load.split(" ").slice(0, 3).join(" ")}`);
  if (!Deno.args.includes("--no-install") && (wanted ?? ["guidellm"]).some((p) => p !== "vllm")) {
    const why = await installPeers();
    if (why) console.log(`Peer install failed (${why}); the peers that are missing are left out.`);
  }
  const peers = await availablePeers(wanted);
  for (const p of peers.missing) console.log(`Peer ${p.name} not run: ${p.why}`);

  console.log("\n## Closed loop: error added by each client (ms, client minus ground truth)\n");
  console.log(
    "TTFT err: signed, per request. ITL |err|: per chunk gap (clients that report each gap). TPOT err: per " +
      "request mean gap (GuideLLM's and AIPerf's 'ITL'). Server late: token write minus the dial's schedule.",
  );
  const closed: Row[] = [];
  for (const n of levels) {
    const lv = levelFor(n, quick);
    await using srv = await serve(lv.dial);
    // The two transports interleaved (socket, fetch, socket, fetch, ...) so that the shared machine's load,
    // which drifts over seconds, hits both alike; each repeat is a row.
    const order = Array.from(
      { length: repeats },
      () => [
        ...ourClients,
        ...(floorBin ? ["floor" as const] : []),
        ...(clients.includes("deno-floor") ? ["deno-floor" as const] : []),
      ],
    ).flat();
    for (const transport of order) {
      const cpu0 = await cpuSeconds(srv.pid);
      const t0 = performance.now();
      const row = transport === "floor"
        ? await floor([floorBin!], C_FLOOR, "c-floor", srv.baseUrl, lv, () => srv.truths())
        : transport === "deno-floor"
        ? await floor(DENO_FLOOR, D_FLOOR, "deno-floor", srv.baseUrl, lv, () => srv.truths())
        : await ours(srv.baseUrl, lv, transport, () => srv.truths());
      const cpu1 = await cpuSeconds(srv.pid);
      if (cpu0 !== undefined && cpu1 !== undefined) {
        const pct = (100 * (cpu1 - cpu0)) / ((performance.now() - t0) / 1000);
        row.note = [row.note, `server CPU ${pct.toFixed(0)}%`].filter(Boolean).join("; ");
      }
      closed.push(row);
      console.error(`c=${n}: ${transport} done (${row.errors.matched} requests)`);
    }
    if (peerLevels.includes(n)) {
      for (const peer of peers.ready) {
        const tag = `${peer.name}-c${n}`;
        const prompts = Array.from({ length: lv.n + lv.count }, (_, i) => uniquePrompt(tag, i));
        try {
          const res = await runPeer(peer, { baseUrl: srv.baseUrl, n, prompts, warmup: lv.n });
          const truths = (await srv.truths()).filter((t) => promptKey(t)?.includes(` ${tag} `));
          const keyed = peer.name === "guidellm"
            ? byKey(truths, promptKey)
            : byKey(truths, (t) => t.request_id);
          closed.push({
            client: peer.label,
            level: `c=${n}`,
            errors: clientErrors(res.timings, keyed),
            server: serverLateness(truths, lv.dial.ttft_ms, lv.dial.itl_ms),
            note: res.note,
          });
          console.error(`c=${n}: ${peer.name} done (${res.timings.length} requests)`);
        } catch (err) {
          closed.push({
            client: peer.label,
            level: `c=${n}`,
            errors: { matched: 0, reported: 0, ttft: { n: 0 }, itl: { n: 0 }, tpot: { n: 0 } },
            server: { n: 0 },
            note: `failed: ${String(err instanceof Error ? err.message : err).slice(0, 160)}`,
          });
          console.error(`c=${n}: ${peer.name} failed: ${err}`);
        }
      }
    }
  }
  console.log("");
  console.log(closedTable(closed));

  console.log("\n## Open loop: our client at fixed rates (constant gaps) until it falls behind\n");
  const rateDial: DialProcessSettings = { ttft_ms: 20, itl_ms: 20, tokens_base: 4, tokens_spread: 4 };
  console.log(
    `Dial: TTFT ${rateDial.ttft_ms} ms, ITL ${rateDial.itl_ms} ms, 4-7 tokens. Send lag = t_send - scheduled ` +
      "time. The client 'falls behind' when send lag p50 > 5 ms or the achieved rate is < 95% of the target.",
  );
  const rated: Row[] = [];
  {
    await using srv = await serve(rateDial);
    // The default client (socket, timer + yield), the same with plain timers, and fetch, side by side at
    // each rate; the ramp stops at the first rate where the first of them falls behind.
    const variants = [
      { transport: "socket" as const, schedule_margin_ms: 1 },
      { transport: "socket" as const, schedule_margin_ms: 0 },
      { transport: "fetch" as const, schedule_margin_ms: 1 },
    ].filter((v) => transports.includes(v.transport));
    for (const rps of rates) {
      let behind = false;
      for (const v of variants) {
        const row = await oursRate(srv.baseUrl, rps, quick ? 1 : 2, rateDial, v, () => srv.truths());
        rated.push(row);
        console.error(`${rps} req/s ${v.transport} done`);
        // p50, not p99: on a shared machine a few descheduled sends are noise, a schedule the client
        // cannot keep shows in the median.
        if (v === variants[0]) {
          behind = (row.dispatch?.p50 ?? 0) > 5 || (row.self_check?.achieved_rps ?? rps) < 0.95 * rps;
        }
      }
      if (behind) break;
    }
  }
  console.log("");
  console.log(rateTable(rated));
  const load2 = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  console.log(`\nLoad average at end (1/5/15 min): ${load2.split(" ").slice(0, 3).join(" ")}`);
  Deno.exit(0);
}
