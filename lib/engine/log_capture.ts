/**
 * Captures a child's stdout and stderr line by line: each line is redacted (the API key), appended to the
 * log file, fed to the startup-log parser and kept in a ring of the last lines for error messages.
 * @module
 */
import { StartupLogParser } from "./startup_log.ts";

/** Options of {@link LogCapture}. */
export interface LogCaptureOptions {
  /** Secrets to replace by `[REDACTED]` in every line, before it goes anywhere. */
  secrets?: string[];
  /** Called with every (redacted) line. Exceptions are swallowed: a callback cannot break the capture. */
  on_line?: (line: string) => void;
  /** How many last lines to keep for error messages, default 20. */
  tail_lines?: number;
}

/**
 * The log of one engine process. Owns the log file; `done` resolves when both streams have ended and the
 * file is closed. A resource with a lifecycle, hence a class.
 */
export class LogCapture {
  readonly parser = new StartupLogParser();
  readonly done: Promise<void>;
  #tail: string[] = [];
  #file: Deno.FsFile;
  #writes: Promise<unknown> = Promise.resolve();
  #enc = new TextEncoder();
  #opts: LogCaptureOptions;

  constructor(path: string, streams: ReadableStream<Uint8Array>[], opts: LogCaptureOptions = {}) {
    this.#opts = opts;
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    this.done = Promise.all(streams.map((s) => this.#pump(s))).then(async () => {
      await this.#writes;
      this.#file.close();
    });
  }

  /** The last lines (redacted), oldest first. */
  tail(): string[] {
    return [...this.#tail];
  }

  /** Redacts the configured secrets in any text (for error messages built elsewhere). */
  redact(text: string): string {
    let out = text;
    for (const s of this.#opts.secrets ?? []) if (s) out = out.replaceAll(s, "[REDACTED]");
    return out;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buf = "";
    const dec = new TextDecoder();
    try {
      for await (const chunk of stream) {
        buf += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.#line(buf.slice(0, nl).replace(/\r$/, ""));
          buf = buf.slice(nl + 1);
        }
      }
    } catch {
      // The pipe broke (process killed mid-write): keep what we have.
    }
    buf += dec.decode();
    if (buf) this.#line(buf);
  }

  #line(raw: string): void {
    const line = this.redact(raw);
    const bytes = this.#enc.encode(line + "\n");
    // A failed write (disk full) loses that line, never the capture.
    this.#writes = this.#writes.then(() => writeAll(this.#file, bytes)).catch(() => {});
    this.parser.feed(line);
    this.#tail.push(line);
    if (this.#tail.length > (this.#opts.tail_lines ?? 20)) this.#tail.shift();
    try {
      this.#opts.on_line?.(line);
    } catch {
      // A display callback must not break log capture.
    }
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}
