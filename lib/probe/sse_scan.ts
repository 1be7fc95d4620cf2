/**
 * The client's content path on bytes (probe()'s default, `parse: "scan"`): an SSE body is split into
 * events by scanning the bytes of each read for the blank line, and a plain content chunk (one choice's
 * text, `"finish_reason":null`, no usage, no error) is counted there, without a TextDecoder, the SSE
 * parser or `JSON.parse`: what the floors do (bench/floor/), plus the character count. Every other event
 * (the role chunk, the finish, usage, errors, `[DONE]`, anything that is not a plain chunk) is handed on as
 * text for `JSON.parse`, as before. A body whose framing is not one `data: ` line per event (comments,
 * `event:` fields, CRLF, multi-line data) goes, from that point on, to the SSE parser unchanged.
 *
 * What the scan trusts: an event framed as a plain chunk, from `{"` to `}`, holding the markers below, is
 * taken as the JSON it looks like; it is not parsed, so a chunk broken elsewhere in its object is not
 * flagged (a chunk without the markers, such as the fault tests' bad JSON, still is).
 * @module
 */

/** What the scanner hands its owner. */
export interface ScanSink {
  /** A plain content chunk with this many UTF-16 code units of text (> 0). */
  content(chars: number): void;
  /** The data of any other event (`[DONE]` included), as text. */
  data(data: string): void;
  /** From here on the body is not simple SSE: these bytes (and all later ones) go to the SSE parser. */
  fallback(bytes: Uint8Array): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const PREFIX = enc.encode("data: ");
const FINISH_NULL = enc.encode('"finish_reason":null');
const FINISH = enc.encode('"finish_reason":');
const USAGE = enc.encode('"usage":');
const ERROR = enc.encode('"error"');
const KEYS = { completions: enc.encode('"text":"'), chat: enc.encode('"content":"') };

/** Index of `pat` in `b[from, end)`, or -1. */
function find(b: Uint8Array, pat: Uint8Array, from: number, end: number): number {
  const first = pat[0], n = pat.length;
  outer: for (let i = from; i + n <= end; i++) {
    if (b[i] !== first) continue;
    for (let j = 1; j < n; j++) if (b[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Splits a streamed body into events and counts plain content chunks on the bytes.
 *
 * @example
 * ```ts
 * let chars = 0;
 * const s = new SseScanner("completions", { content: (n) => (chars += n), data: () => {}, fallback: () => {} });
 * s.feed(new TextEncoder().encode('data: {"choices":[{"text":"hi","finish_reason":null}]}\n\n'));
 * chars; // 2
 * ```
 */
export class SseScanner {
  #key: Uint8Array;
  #sink: ScanSink;
  /** Bytes of an event not yet complete. */
  #carry: Uint8Array | undefined;
  #fallen = false;

  constructor(endpoint: "completions" | "chat", sink: ScanSink) {
    this.#key = KEYS[endpoint];
    this.#sink = sink;
  }

  /** The bytes of one read. */
  feed(bytes: Uint8Array): void {
    if (this.#fallen) return this.#sink.fallback(bytes);
    let b = bytes;
    if (this.#carry) {
      b = new Uint8Array(this.#carry.length + bytes.length);
      b.set(this.#carry, 0);
      b.set(bytes, this.#carry.length);
      this.#carry = undefined;
    }
    const end = b.length;
    let start = 0;
    for (;;) {
      // One event: `data: ...` up to "\n\n", with no other "\n" and no "\r" inside.
      let nl = -1;
      for (let i = start; i < end; i++) {
        const c = b[i];
        if (c === 10) {
          nl = i;
          break;
        }
        if (c === 13) return this.#fall(b.subarray(start));
      }
      if (nl < 0 || nl + 1 >= end) {
        if (start < end) this.#carry = b.slice(start);
        return;
      }
      if (
        b[nl + 1] !== 10 || nl - start < PREFIX.length ||
        find(b, PREFIX, start, start + PREFIX.length) !== start
      ) {
        return this.#fall(b.subarray(start));
      }
      this.#event(b, start + PREFIX.length, nl);
      start = nl + 2;
      if (start === end) return;
    }
  }

  #fall(rest: Uint8Array): void {
    this.#fallen = true;
    this.#sink.fallback(rest);
  }

  /** One event's data, b[s, e). */
  #event(b: Uint8Array, s: number, e: number): void {
    const chars = this.#plainChars(b, s, e);
    if (chars > 0) this.#sink.content(chars);
    else this.#sink.data(dec.decode(b.subarray(s, e)));
  }

  /** Characters of a plain content chunk's text, or 0 when the event is anything else. */
  #plainChars(b: Uint8Array, s: number, e: number): number {
    if (e - s < 4 || b[s] !== 123 /* { */ || b[s + 1] !== 34 /* " */ || b[e - 1] !== 125 /* } */) return 0;
    const k = find(b, this.#key, s, e);
    if (k < 0) return 0;
    let i = k + this.#key.length;
    let chars = 0;
    for (; i < e; i++) {
      const c = b[i];
      if (c === 34) break;
      if (c === 92 || c >= 128 || c < 32) return 0; // escapes and non-ASCII: JSON.parse counts them
      chars++;
    }
    if (i >= e || chars === 0) return 0;
    if (find(b, this.#key, i, e) >= 0) return 0; // more than one choice
    const f = find(b, FINISH, s, e);
    if (f < 0 || find(b, FINISH_NULL, f, f + FINISH_NULL.length) !== f || find(b, FINISH, f + 1, e) >= 0) {
      return 0;
    }
    if (find(b, USAGE, s, e) >= 0 || find(b, ERROR, s, e) >= 0) return 0;
    return chars;
  }
}
