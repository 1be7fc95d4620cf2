/**
 * Atomic file writes: the content goes to a temporary file in the same directory, which is then renamed
 * over the target. A reader sees the old file or the new one, never a partial one, and a failure while
 * writing leaves the old file (or no file) and no temporary behind.
 * @module
 */
import { basename, dirname, join } from "node:path";

/** Content for an atomic write: a string, bytes, or chunks of text produced while writing. */
export type AtomicContent = string | Uint8Array | Iterable<string> | AsyncIterable<string>;

/** Options for {@link writeTextAtomic}. */
export interface AtomicWriteOptions {
  /** Create the parent directory when it is missing. Default true. */
  mkdir?: boolean;
  /** fsync the data before the rename, so a crash of the machine cannot leave an empty file. Default true. */
  sync?: boolean;
}

function tempPath(path: string): string {
  const suffix = crypto.randomUUID().slice(0, 8);
  return join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** A filesystem failure of an atomic write, in words: the target, what failed, and what to check. */
export class AtomicWriteError extends Error {
  override readonly name = "AtomicWriteError";
  constructor(readonly path: string, readonly step: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `Cannot write ${path}: ${step} failed (${why}). Nothing was written there (an earlier version is ` +
        "unchanged). Check that the folder exists, is a folder and is writable, and that the disk has " +
        "free space, then run again.",
      { cause },
    );
  }
}

/** Runs one filesystem step, turning its failure into an {@link AtomicWriteError}. */
async function fsStep<T>(path: string, step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof AtomicWriteError ? err : new AtomicWriteError(path, step, err);
  }
}

/**
 * Writes `content` to `path` atomically (temporary file in the same directory, then rename).
 * Chunks from an iterable are written as they come; if the iterable throws, the temporary file is
 * removed and the error is rethrown, leaving the previous content of `path` untouched. A filesystem
 * failure (parent is not a folder, read-only, disk full, file too large) does the same and throws an
 * {@link AtomicWriteError} naming the path, the step and what to check.
 *
 * @example
 * ```ts
 * await writeTextAtomic("reports/x/points/ttft/c1.csv", "a,b\n1,2\n");
 * ```
 */
export async function writeTextAtomic(
  path: string,
  content: AtomicContent,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const { mkdir = true, sync = true } = options;
  if (mkdir) {
    await fsStep(path, "creating its folder", () => Deno.mkdir(dirname(path), { recursive: true }));
  }
  const tmp = tempPath(path);
  const enc = new TextEncoder();
  let file: Deno.FsFile | undefined;
  try {
    file = await fsStep(
      path,
      "creating the temporary file",
      () => Deno.open(tmp, { write: true, createNew: true, mode: 0o644 }),
    );
    const f = file;
    const write = (bytes: Uint8Array) => fsStep(path, "writing", () => writeAll(f, bytes));
    if (typeof content === "string") await write(enc.encode(content));
    else if (content instanceof Uint8Array) await write(content);
    else {
      for await (const chunk of content as AsyncIterable<string>) await write(enc.encode(chunk));
    }
    if (sync) await fsStep(path, "syncing to disk", () => f.syncData());
    file.close();
    file = undefined;
    await fsStep(path, "renaming the temporary file over it", () => Deno.rename(tmp, path));
  } catch (err) {
    try {
      file?.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Writes `value` as pretty JSON (2-space indent, trailing newline) atomically.
 * BigInt values are written as numbers when safe, else as strings.
 *
 * @example
 * ```ts
 * await writeJsonAtomic("reports/x/manifest.json", { status: "running" });
 * ```
 */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const text = JSON.stringify(value, jsonReplacer, 2) + "\n";
  await writeTextAtomic(path, text, options);
}

/** JSON replacer that turns BigInt into a number (or a string when it would lose precision). */
export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : String(v);
  }
  return v;
}

/**
 * Reads a JSON file, or returns undefined when it does not exist. Other errors (bad JSON, permissions)
 * throw with the path in the message.
 *
 * @example
 * ```ts
 * const m = await readJsonIfExists("reports/x/manifest.json");
 * ```
 */
export async function readJsonIfExists(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(
      `Cannot read ${path}: ${
        (err as Error).message
      }. Check that its folder exists, is a folder and is readable.`,
      { cause: err },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(
      `Cannot parse ${path}: ${(err as Error).message}. Delete the file or fix it, then run again.`,
    );
  }
}
