// `./servelab run --size test` as a user runs it with its output to a pipe (a CI log, `| tee`): the whole
// bootstrap and every tier notebook on the embedded engine. The output must show live progress as plain
// lines with point counts for every tier, carry no terminal escape code, and no line of pip's or Deno's
// warnings. The run folder it makes under reports/ is removed afterwards.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseHTML } from "linkedom";
import { TIERS } from "../../lib/tiers/mod.ts";
import { ROOT } from "../_jupyter.ts";

// deno-lint-ignore no-control-regex
const ESC = /\x1b/;
const WARNINGS = [
  /"deno jupyter" is unstable/,
  /^\s*WARNING: /m,
  /DEPRECATION:/,
  /\bpip\b.*warn/i,
  /^Warning\b/m,
];

/**
 * The `./servelab` commands a run's pages tell the user to run: in `<pre>`/`<code>` of its HTML pages and in
 * the code blocks and spans of its Markdown files, optionally after VAR=value assignments.
 */
export async function pageCommands(dir: string): Promise<{ file: string; command: string }[]> {
  const out: { file: string; command: string }[] = [];
  const keep = (file: string, text: string) => {
    for (const line of text.split("\n").map((l) => l.trim())) {
      if (/^(?:[A-Z][A-Z0-9_]*=\S+\s+)*\.\/servelab\s/.test(line)) out.push({ file, command: line });
    }
  };
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const text = await Deno.readTextFile(join(dir, e.name)).catch(() => "");
    if (e.name.endsWith(".html")) {
      const { document } = parseHTML(text);
      for (const el of document.querySelectorAll("pre, code")) keep(e.name, el.textContent ?? "");
    } else if (e.name.endsWith(".md")) {
      for (const m of text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) keep(e.name, m[1]);
      for (const m of text.replace(/```[\s\S]*?```/g, "").matchAll(/`([^`\n]+)`/g)) keep(e.name, m[1]);
    }
  }
  return out;
}

/** Runs each command a page prints, as written, in bash from the project root: `run` with --dry-run (it
 * checks its options and lists the notebooks), every other verb with --help. */
async function runPageCommands(dir: string): Promise<void> {
  const commands = await pageCommands(dir);
  assert.ok(commands.length >= 3, `the pages print few commands: ${JSON.stringify(commands)}`);
  const seen = new Set<string>();
  for (const { file, command } of commands) {
    if (seen.has(command)) continue;
    seen.add(command);
    const extra = /\.\/servelab run(\s|$)/.test(command) ? " --dry-run" : " --help";
    const r = await new Deno.Command("bash", {
      args: ["-c", command + extra],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, `${file}: \`${command}\` (${extra.trim()}) failed:\n${text}`);
  }
}

Deno.test({
  name:
    "./servelab run --size test to a pipe: progress lines with point counts, no escape codes, no tool warnings",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const env = { ...Deno.env.toObject() };
    delete env.NO_COLOR; // the pipe alone must make the output plain
    const out = await new Deno.Command(join(ROOT, "servelab"), {
      args: ["run", "--size", "test", "--engine", "sim"],
      cwd: ROOT,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const folder = /folder: (\S+)/.exec(text)?.[1];
    try {
      assert.equal(out.code, 0, text.slice(-4000));
      assert.doesNotMatch(text, ESC, "an escape code in piped output");
      for (const w of WARNINGS) assert.doesNotMatch(text, w, `a tool's warning in the output:\n${text}`);
      const progress = text.split("\n").filter((l) => l.startsWith("  progress: "));
      for (const t of TIERS) {
        const mine = progress.filter((l) => new RegExp(`\\| ${t.key}: point \\d+/\\d+ `).test(l));
        assert.ok(
          mine.length > 0,
          `no progress line with a point count for tier ${t.key}:\n${progress.join("\n")}`,
        );
      }
      // A sweep's last state ("n/n points done") shows unless the next sweep starts within a poll.
      assert.ok(progress.some((l) => /: (\d+)\/\1 points done \(/.test(l)), "no sweep's final line");
      assert.ok(progress.some((l) => / elapsed, ~\d/.test(l)), "no line estimates the time left");
      assert.ok(progress.some((l) => /notebook \d+\/\d+ /.test(l)), "no line names the notebook k of n");
      await runPageCommands(folder!);
    } finally {
      if (folder?.startsWith(join(ROOT, "reports"))) {
        await Deno.remove(folder, { recursive: true }).catch(() => {});
      }
    }
  },
});
