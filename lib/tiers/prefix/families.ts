/**
 * `data/prefix_prompts.jsonl`: families of one long shared prefix (a system prompt or a document) and
 * short varied suffixes (the user's questions), as text, one family per line. The zod schema is the
 * file's contract; the loader names the line of the first bad one.
 *
 * @example
 * ```ts
 * const families = await loadPrefixFamilies();
 * families[0].family; // "support-assistant"
 * ```
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { REPO_ROOT } from "../../run/host.ts";

/** The default file, from the repository root. */
export const PREFIX_PROMPTS_PATH = join(REPO_ROOT, "data", "prefix_prompts.jsonl");

/** One family: a long shared prefix and the short suffixes that follow it. */
export const PrefixFamily = z.object({
  /** Slug naming the family, unique in the file. */
  family: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be a lowercase slug like 'support-assistant'"),
  /** What the shared prefix is. */
  kind: z.enum(["system_prompt", "document"]),
  /** One line saying what the prefix is. */
  title: z.string().min(1),
  /** The shared prefix: long text (hundreds of words) every request of the family starts with. */
  prefix: z.string().min(200, "the shared prefix must be long text (at least 200 characters)"),
  /** Short texts that follow the prefix, one per request (varied questions). */
  suffixes: z.array(
    z.string().min(1).max(300, "a suffix must be short (at most 300 characters)"),
  ).min(2, "a family needs at least 2 suffixes"),
}).strict();
export type PrefixFamily = z.infer<typeof PrefixFamily>;

/**
 * Parses the JSONL text of prefix families: one JSON object per non-blank line. Throws on the first bad
 * line with its number, what is wrong and how to fix it; a duplicate family name or an empty file is an
 * error too.
 *
 * @example
 * ```ts
 * parsePrefixFamilies('{"family":"a","kind":"document","title":"t","prefix":"...","suffixes":["q1","q2"]}\n');
 * ```
 */
export function parsePrefixFamilies(text: string, source = "prefix_prompts.jsonl"): PrefixFamily[] {
  const out: PrefixFamily[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === "") return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new Error(
        `${source} line ${n}: not valid JSON (${(e as Error).message}); ` +
          `write one JSON object per line, with no line breaks inside it.`,
      );
    }
    const r = PrefixFamily.safeParse(raw);
    if (!r.success) {
      const issues = r.error.issues.map((iss) => `${iss.path.join(".") || "line"}: ${iss.message}`);
      throw new Error(
        `${source} line ${n}: ${issues.join("; ")}. Each line needs family, kind ` +
          `("system_prompt" or "document"), title, prefix (long text) and suffixes (short texts).`,
      );
    }
    const first = seen.get(r.data.family);
    if (first !== undefined) {
      throw new Error(
        `${source} line ${n}: family '${r.data.family}' already appears on line ${first}; give it another name.`,
      );
    }
    seen.set(r.data.family, n);
    out.push(r.data);
  });
  if (out.length === 0) {
    throw new Error(
      `${source} holds no families; add at least one JSON line (see data/prefix_prompts.jsonl).`,
    );
  }
  return out;
}

/**
 * Reads and validates the prefix families file (default `data/prefix_prompts.jsonl`).
 *
 * @example
 * ```ts
 * const families = await loadPrefixFamilies();
 * ```
 */
export async function loadPrefixFamilies(path: string = PREFIX_PROMPTS_PATH): Promise<PrefixFamily[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read prefix families from ${path}: ${(e as Error).message}. Check the path.`);
  }
  return parsePrefixFamilies(text, path);
}
