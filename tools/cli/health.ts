/**
 * `./servelab health --url URL [--model M] [--thresholds FILE] [--json] [--api-key-env NAME] [--allow-remote]`:
 * a short canary load plus /metrics scrapes, each check against its threshold.
 * Exit 0 all ok (n/a counts as ok), 1 any breach, 2 the check could not run (bad arguments or thresholds
 * file, host refused, server unreachable or not OpenAI-compatible).
 * @module
 */
import {
  defaultThresholds,
  formatHealth,
  type HealthColours,
  type HealthResult,
  parseThresholds,
  runHealth,
  type Thresholds,
} from "../../lib/health/mod.ts";
import { redactUrl } from "../../lib/base/mod.ts";
import { API_KEY_ENV_NOT_A_NAME, isEnvVarName } from "../../lib/mod.ts";

/** Where main writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = [
  "Usage: ./servelab health --url URL [--model M] [--thresholds FILE] [--json] [--api-key-env NAME]",
  "                         [--allow-remote]",
  "  A short canary load (thresholds file's canary; defaults: 16 requests at concurrency 4, 20 s at most)",
  "  and /metrics scrapes, judged against the thresholds file (default: generic thresholds).",
  "  Exit 0 all ok (n/a counts as ok), 1 any breach, 2 could not check.",
  "  --allow-remote   send the canary to a non-loopback host (refused by default)",
  "  --api-key-env    the environment variable holding the server's API key",
].join("\n");

const VALUE_FLAGS = ["--url", "--model", "--thresholds", "--api-key-env"] as const;
const BOOL_FLAGS = ["--json", "--allow-remote", "--help", "-h"] as const;

type Args = { values: Partial<Record<typeof VALUE_FLAGS[number], string>>; flags: Set<string> };

function parseArgs(args: string[]): Args | string {
  const out: Args = { values: {}, flags: new Set() };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].startsWith("--") && args[i].includes("=")
      ? [args[i].slice(0, args[i].indexOf("=")), args[i].slice(args[i].indexOf("=") + 1)]
      : [args[i], undefined];
    if ((VALUE_FLAGS as readonly string[]).includes(name)) {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") return `${name} needs a value`;
      out.values[name as typeof VALUE_FLAGS[number]] = v;
    } else if ((BOOL_FLAGS as readonly string[]).includes(name) && inline === undefined) {
      out.flags.add(name);
    } else {
      return `unknown argument '${args[i]}'`;
    }
  }
  return out;
}

const CONSOLE: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Colours only when writing to the console and stdout is a terminal without NO_COLOR. */
function colours(io: Io): HealthColours | undefined {
  if (io !== CONSOLE) return undefined;
  let tty = false;
  try {
    tty = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  } catch {
    tty = false;
  }
  if (!tty) return undefined;
  return {
    ok: (s) => `\x1b[32m${s}\x1b[0m`,
    breach: (s) => `\x1b[1;31m${s}\x1b[0m`,
    na: (s) => `\x1b[33m${s}\x1b[0m`,
  };
}

/** Options for tests: how runHealth is called (nvidia-smi runner, environment). */
export type HealthCliOptions = Parameters<typeof runHealth>[2];

/**
 * Runs the verb.
 *
 * @example
 * ```ts
 * const code = await main(["--url", "http://127.0.0.1:8000", "--json"]);
 * ```
 */
export async function main(
  args: string[],
  io: Io = CONSOLE,
  options: HealthCliOptions = {},
): Promise<number> {
  const parsed = parseArgs(args);
  const json = args.includes("--json");
  const failed = (error: string): number => {
    if (json) io.out(JSON.stringify({ kind: "failed", status: "error", exit_code: 2, error }, null, 2));
    else io.err(`servelab health: ${error}`);
    return 2;
  };
  if (typeof parsed === "string") return failed(`${parsed}.\n\n${USAGE}`);
  if (parsed.flags.has("--help") || parsed.flags.has("-h")) {
    io.out(USAGE);
    return 0;
  }
  const given = parsed.values["--url"];
  if (!given) return failed(`--url is required (e.g. --url http://127.0.0.1:8000).\n\n${USAGE}`);
  // user:password@ in the URL is never sent, printed or written: pass a key with --api-key-env.
  const url = redactUrl(given);
  const keyEnv = parsed.values["--api-key-env"];
  if (keyEnv !== undefined && !isEnvVarName(keyEnv)) return failed(API_KEY_ENV_NOT_A_NAME("--api-key-env"));
  let thresholds: Thresholds = defaultThresholds();
  const file = parsed.values["--thresholds"];
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      return failed(
        `Cannot read thresholds file ${file}: ${(e as Error).message}. ` +
          "Check the path, or leave --thresholds out to use the defaults.",
      );
    }
    try {
      thresholds = parseThresholds(text, file);
    } catch (e) {
      return failed((e as Error).message);
    }
  }
  const result: HealthResult = await runHealth(url, thresholds, {
    ...options,
    model: parsed.values["--model"],
    api_key_env: keyEnv,
    allow_remote: parsed.flags.has("--allow-remote") ? true : options.allow_remote,
  });
  if (json) io.out(JSON.stringify({ ...result, thresholds_file: file ?? "(defaults)" }, null, 2));
  else if (result.kind === "failed") io.err(formatHealth(result)[0]);
  else for (const line of formatHealth(result, colours(io))) io.out(line);
  return result.exit_code;
}
