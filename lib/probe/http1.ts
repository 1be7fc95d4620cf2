/**
 * A minimal HTTP/1.1 client on raw TCP with a keep-alive pool: runLoad's default transport for `http://`
 * targets (`transport: "socket"`; `https://` goes through `fetch`). It costs the client's one thread less
 * per request and per chunk than `fetch` with web streams, stamps the send right before the request's
 * write, and stamps each read before any stream parses it. Against a ground truth stamped at the server's
 * write() it added less TTFT error than fetch at every level, median and p99
 * (docs/adr/0016-fidelity-truth-and-floors.md, bench/client_fidelity.ts). It does only what probe()
 * needs: a POST with a JSON body, the status and headers, and the body's bytes as each socket read delivers
 * them (chunked or content-length framing removed). A pool belongs to one run and is closed with it.
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Idle keep-alive connections to one host:port; close it when the run ends. */
export class Http1Pool implements Disposable {
  #idle: Deno.TcpConn[] = [];
  #closed = false;
  constructor(readonly hostname: string, readonly port: number) {}

  /** An idle connection (reused: true) or a new one. */
  async take(): Promise<{ conn: Deno.TcpConn; reused: boolean }> {
    const idle = this.#idle.pop();
    if (idle) return { conn: idle, reused: true };
    const conn = await Deno.connect({ hostname: this.hostname, port: this.port });
    conn.setNoDelay(true);
    return { conn, reused: false };
  }

  /** Returns a connection whose response was read to its end. */
  give(conn: Deno.TcpConn): void {
    if (this.#closed) closeQuietly(conn);
    else this.#idle.push(conn);
  }

  /** Closes every idle connection; later returns are closed too. */
  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) closeQuietly(c);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** A response whose body is read one socket read at a time. */
export interface Http1Response {
  status: number;
  /** Lower-case header names. */
  headers: Map<string, string>;
  /** Body bytes of the next socket read (may be empty), or null at the end of the body. */
  read(): Promise<Uint8Array | null>;
  /**
   * `now()` (http1Request's clock) taken first thing when the socket read that delivered the last
   * bytes completed, before any decoding: when many streams' reads complete in one event-loop turn, each
   * is stamped before the others are parsed, not after.
   */
  readonly read_ms: number | undefined;
  /**
   * `now()` right before the request's bytes were handed to the socket (after a connection was taken
   * from the pool or opened): the send time, without the setup of this and other requests started in
   * the same turn, which runs between a caller's earlier stamp and the write.
   */
  readonly sent_ms: number;
  /** Reads the rest of the body as text. */
  text(): Promise<string>;
  /** Abandons the response (closes the connection). */
  cancel(): void;
}

const READ_BYTES = 16 * 1024;

/**
 * One read buffer per connection, reused by every response on it: a new 16 KiB buffer per request is
 * garbage at the request rate, and the collector's pauses land on the thread that stamps reads.
 * (Bytes handed out of a read are copied by the decoders first.)
 */
const buffers = new WeakMap<Deno.TcpConn, Uint8Array>();
function readBuffer(conn: Deno.TcpConn): Uint8Array {
  let buf = buffers.get(conn);
  if (buf === undefined) buffers.set(conn, buf = new Uint8Array(READ_BYTES));
  return buf;
}

/**
 * Sends one request on a pooled connection and resolves once the status line and headers are in.
 * A reused connection the server had closed is retried once on a new one. Aborting the signal closes
 * the connection: a pending read rejects.
 *
 * @example
 * ```ts
 * using pool = new Http1Pool("127.0.0.1", 8000);
 * const res = await http1Request(pool, "/v1/completions", { "content-type": "application/json" }, "{}");
 * console.log(res.status, await res.text());
 * ```
 */
export async function http1Request(
  pool: Http1Pool,
  path: string,
  headers: Record<string, string>,
  body: string,
  signal?: AbortSignal,
  now: () => number = () => performance.now(),
): Promise<Http1Response> {
  const payload = enc.encode(body);
  let head = `POST ${path} HTTP/1.1\r\nhost: ${pool.hostname}:${pool.port}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += `content-length: ${payload.length}\r\n\r\n`;
  const headBytes = enc.encode(head);
  const msg = new Uint8Array(headBytes.length + payload.length);
  msg.set(headBytes);
  msg.set(payload, headBytes.length);
  for (let attempt = 0;; attempt++) {
    signal?.throwIfAborted();
    const { conn, reused } = await pool.take();
    try {
      return await exchange(pool, conn, msg, signal, now);
    } catch (err) {
      // A keep-alive connection the server closed (while idle, or just after its last response: llama.cpp's
      // server does) fails before any response byte: drop it and try the next idle one, then a new one.
      if (reused && err instanceof StaleConnection && !signal?.aborted) continue;
      throw err instanceof StaleConnection
        ? new Error("The server closed the connection before responding.")
        : err;
    }
  }
}

class StaleConnection extends Error {}

async function exchange(
  pool: Http1Pool,
  conn: Deno.TcpConn,
  msg: Uint8Array,
  signal: AbortSignal | undefined,
  now: () => number,
): Promise<Http1Response> {
  let closed = false;
  let read_ms: number | undefined;
  let sent_ms = 0;
  const close = () => {
    if (!closed) {
      closed = true;
      closeQuietly(conn);
    }
  };
  const onAbort = () => close();
  signal?.addEventListener("abort", onAbort, { once: true });
  const release = () => signal?.removeEventListener("abort", onAbort);
  const buf = readBuffer(conn);
  // Used for the status line and headers only; the body's reads (below) await conn.read() directly, one
  // async frame fewer per chunk on the hot path.
  const readSocket = async (): Promise<Uint8Array | null> => {
    const n = await conn.read(buf);
    read_ms = now();
    return n === null ? null : buf.subarray(0, n);
  };
  /** A reset or broken pipe before any response byte is a stale connection too. */
  const stale = (err: unknown) =>
    err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe
      ? new StaleConnection()
      : err;
  try {
    try {
      sent_ms = now();
      for (let off = 0; off < msg.length;) off += await conn.write(msg.subarray(off));
    } catch (err) {
      throw stale(err);
    }
    // Status line and headers (ASCII); keep whatever body bytes came with them.
    let pending: Uint8Array = new Uint8Array(0);
    let end = -1;
    while (end < 0) {
      const got = pending.length === 0
        ? await readSocket().catch((err) => Promise.reject(stale(err)))
        : await readSocket();
      if (got === null) {
        throw pending.length === 0
          ? new StaleConnection()
          : new Error("The connection closed inside the headers.");
      }
      pending = concat(pending, got);
      end = indexOfCrlfCrlf(pending);
    }
    const lines = dec.decode(pending.subarray(0, end)).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    if (!Number.isInteger(status)) throw new Error(`Malformed status line: ${lines[0].slice(0, 80)}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const c = line.indexOf(":");
      if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    const chunked = (headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked");
    const length = headers.has("content-length") ? Number(headers.get("content-length")) : undefined;
    const keepAlive = (headers.get("connection") ?? "").toLowerCase() !== "close" &&
      (chunked || length !== undefined);
    const body = chunked ? chunkedDecoder() : lengthDecoder(length);
    let first: Uint8Array | null = pending.length > end + 4 ? pending.subarray(end + 4) : null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      release();
      if (keepAlive && !closed) pool.give(conn);
      else close();
    };
    // An empty body (a redirect, a 204) is complete with the headers: no read would ever end it.
    if (!chunked && length === 0 && first === null) finish();
    const read = async (): Promise<Uint8Array | null> => {
      if (finished) return null;
      let bytes: Uint8Array | null;
      if (first !== null) {
        bytes = first;
        first = null;
      } else {
        const n = await conn.read(buf);
        read_ms = now();
        bytes = n === null ? null : buf.subarray(0, n);
      }
      if (bytes === null) {
        if (length === undefined && !chunked) {
          finish();
          return null;
        }
        close();
        throw new Error("The connection closed before the response body ended.");
      }
      const out = body.push(bytes);
      if (body.done) finish();
      return out;
    };
    return {
      status,
      headers,
      read,
      get read_ms() {
        return read_ms;
      },
      sent_ms,
      async text() {
        const parts: Uint8Array[] = [];
        for (let b = await read(); b !== null; b = await read()) parts.push(b.slice());
        return dec.decode(parts.reduce(concat, new Uint8Array(0)));
      },
      cancel() {
        if (!finished) {
          finished = true;
          release();
          close();
        }
      },
    };
  } catch (err) {
    release();
    close();
    throw err;
  }
}

interface Decoder {
  /** The body bytes in this read (a fresh array). */
  push(bytes: Uint8Array): Uint8Array;
  readonly done: boolean;
}

function lengthDecoder(length: number | undefined): Decoder {
  let left = length ?? Infinity;
  return {
    push(bytes) {
      const take = bytes.subarray(0, Math.min(bytes.length, left));
      left -= take.length;
      return take.slice();
    },
    get done() {
      return left <= 0;
    },
  };
}

/**
 * Removes chunked transfer framing (sizes, CRLFs, trailers) across read boundaries. Data is sliced out
 * whole; size and CRLF lines are found with indexOf, not byte by byte (this runs once per chunk of every
 * stream, on the thread that stamps them).
 */
function chunkedDecoder(): Decoder {
  let state: "size" | "data" | "data_crlf" | "trailer" | "done" = "size";
  let line = "";
  let left = 0;
  return {
    push(bytes) {
      let out: Uint8Array | undefined;
      let parts: Uint8Array[] | undefined;
      let i = 0;
      const n = bytes.length;
      while (i < n && state !== "done") {
        if (state === "data") {
          const take = Math.min(left, n - i);
          const piece = bytes.subarray(i, i + take);
          if (out === undefined) out = piece;
          else (parts ??= [out]).push(piece);
          i += take;
          left -= take;
          if (left === 0) state = "data_crlf";
          continue;
        }
        // A size, CRLF or trailer line, possibly cut by the read boundary.
        const lf = bytes.indexOf(10, i);
        const stop = lf < 0 ? n : lf;
        for (let j = i; j < stop; j++) if (bytes[j] !== 13) line += String.fromCharCode(bytes[j]);
        if (lf < 0) break;
        i = lf + 1;
        if (state === "size") {
          left = parseInt(line.split(";")[0].trim(), 16);
          if (!Number.isFinite(left)) throw new Error(`Malformed chunk size: ${line.slice(0, 40)}`);
          state = left === 0 ? "trailer" : "data";
        } else if (state === "data_crlf") state = "size";
        else if (line === "") state = "done";
        line = "";
      }
      if (out === undefined) return new Uint8Array(0);
      return parts === undefined ? out.slice() : parts.reduce(concat, new Uint8Array(0));
    },
    get done() {
      return state === "done";
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}
