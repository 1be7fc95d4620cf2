/**
 * `./servelab bench [NAME ...] [-- ARGS]`: runs benchmarks of servelab itself (bench/<NAME>.ts, all of
 * them when no name is given), one process each, and writes what they print, headed by a description
 * of the machine and the code, to bench/results/<date>-<NAME>.md.
 *
 * Benchmarks print their own tables; performance claims come from these runs, as ratios measured side
 * by side in one run, never from unit tests.
 * @module
 */
import { join } from "node:path";
import { codeInfo, hostInfo, REPO_ROOT } from "../../lib/run/mod.ts";

const BENCH_DIR = join(REPO_ROOT, "bench");

/** Benchmark names: bench/*.ts files that do not start with "_" and are not tests. */
export async function listBenches(dir = BENCH_DIR): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_") && !e.name.endsWith("_test.ts")) {
      names.push(e.name.slice(0, -3));
    }
  }
  return names.sort();
}

/** The markdown header of a results file: when, which code, which machine. */
export async function benchHeader(name: string, args: string[], now = new Date()): Promise<string> {
  const [host, code] = await Promise.all([hostInfo(), codeInfo()]);
  return [
    `# bench ${name}: ${now.toISOString()}`,
    "",
    `- command: \`deno run -A bench/${name}.ts${args.length ? " " + args.join(" ") : ""}\``,
    `- servelab ${code.version}, commit ${code.git_commit ?? "unknown"}${
      code.git_dirty ? " (dirty)" : ""
    }, Deno ${Deno.version.deno}${
      Deno.env.get("DENO_V8_FLAGS") ? `, DENO_V8_FLAGS=${Deno.env.get("DENO_V8_FLAGS")}` : ""
    }`,
    `- machine: ${host.cpu_model ?? "unknown CPU"}, ${host.cores} cores, ${host.memory_gib ?? "?"} GiB, ` +
    `${host.os ?? Deno.build.os} (kernel ${host.kernel ?? "?"}), THP ${host.transparent_hugepages ?? "?"}`,
    "",
    "```",
  ].join("\n");
}

export async function main(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  const names = dash >= 0 ? args.slice(0, dash) : args;
  const passArgs = dash >= 0 ? args.slice(dash + 1) : [];
  const known = await listBenches();
  if (names.includes("--help") || names.includes("-h") || names.includes("--list")) {
    console.log(
      `Usage: ./servelab bench [NAME ...] [-- ARGS]\n\nBenchmarks:\n${known.map((n) => `  ${n}`).join("\n")}`,
    );
    return 0;
  }
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    console.error(`servelab bench: unknown benchmark '${unknown.join("', '")}'. Known: ${known.join(", ")}.`);
    return 2;
  }
  const outDir = join(BENCH_DIR, "results");
  await Deno.mkdir(outDir, { recursive: true });
  let failed = 0;
  for (const name of names.length ? names : known) {
    const header = await benchHeader(name, passArgs);
    console.log(header.replace(/\n```$/, ""));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(BENCH_DIR, `${name}.ts`), ...passArgs],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    for await (const b of child.stdout) {
      const text = decoder.decode(b, { stream: true });
      chunks.push(text);
      await Deno.stdout.write(b);
    }
    const status = await child.status;
    const date = new Date().toISOString().slice(0, 10);
    const path = join(outDir, `${date}-${name}.md`);
    await Deno.writeTextFile(path, `${header}\n${chunks.join("")}\n\`\`\`\n\nexit code ${status.code}\n`);
    console.log(`-> ${path}${status.success ? "" : ` (exit code ${status.code})`}`);
    if (!status.success) failed++;
  }
  return failed ? 1 : 0;
}
