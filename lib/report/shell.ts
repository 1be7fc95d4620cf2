/**
 * Shell quoting for the commands a page shows (rerun lines, engine command lines): a reader pastes them
 * into a POSIX shell, so every word that is not plainly safe is single-quoted, and a model name such as
 * `m; rm -rf ~` or `$(id)` stays one inert argument.
 * @module
 */

const SAFE = /^[\w@%+=:,./-]+$/;

/**
 * One word for a POSIX shell: unchanged when it holds only safe characters, else single-quoted (a `'`
 * inside becomes `'\''`). The empty string is `''`.
 *
 * @example
 * ```ts
 * shellQuote("Qwen/Qwen2.5-1.5B-Instruct"); // "Qwen/Qwen2.5-1.5B-Instruct"
 * shellQuote("a b; rm -rf ~"); // "'a b; rm -rf ~'"
 * ```
 */
export function shellQuote(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * A command line from words, each quoted by {@link shellQuote}.
 *
 * @example
 * ```ts
 * shellLine(["./servelab", "run", "--model", "it's"]); // "./servelab run --model 'it'\\''s'"
 * ```
 */
export function shellLine(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * `NAME=value` assignments for a command's environment, each value quoted.
 *
 * @example
 * ```ts
 * shellEnv({ SERVELAB_MODEL: "a b" }); // "SERVELAB_MODEL='a b'"
 * ```
 */
export function shellEnv(vars: Record<string, string | number>): string {
  return Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(String(v))}`).join(" ");
}
