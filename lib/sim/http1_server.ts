/**
 * A minimal HTTP/1.1 server on raw TCP for the embedded engine (`serveSim`'s default; Deno.serve stays
 * selectable with `http: "deno"`). Deno.serve moves every SSE chunk through a ReadableStream and the HTTP
 * stack's pull, several promise hops and objects per chunk on the one thread that also runs the simulated
 * engine; here a streamed response (direct_stream.ts) becomes one chunked frame and one socket write per
 * stream per engine step, written inside the step's delivery.
 *
 * What it serves: requests with a Content-Length or chunked body (Expect: 100-continue answered),
 * keep-alive, `Connection: close`. Each request becomes a web `Request` for the engine's handler (one
 * per request, not per chunk), whose signal aborts when the client goes away; a plain `Response` is
 * written with a Content-Length, a body that fails mid-way cuts the connection (as Deno.serve does).
 * Binds 127.0.0.1 only.
 * @module
 */
import { type DirectSink, type DirectStream, directStreamOf } from "./direct_stream.ts";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

const CRLF = enc.encode("\r\n");
const LAST = enc.encode("\r\n0\r\n\r\n");
const END = enc.encode("0\r\n\r\n");
const MAX_HEAD_BYTES = 64 * 1024;
const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  411: "Length Required",
  413: "Payload Too Large",
  499: "Client Closed Request",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Options of {@link serveHttp1}. */
export interface Http1ServerOptions {
  /** 0: a free port. */
  port: number;
  /** The handler threw: the response to send (Deno.serve's onError). */
  onError: (e: unknown) => Response;
}

/** A listening raw-socket server. */
export interface Http1Server {
  readonly port: number;
  /** Resolves when the listener and every connection are closed. */
  readonly finished: Promise<void>;
  /** Stops accepting, closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1.
 *
 * @example
 * ```ts
 * const s = serveHttp1(() => new Response("ok"), { port: 0, onError: () => new Response(null, { status: 500 }) });
 * await (await fetch(`http://127.0.0.1:${s.port}/`)).text(); // "ok"
 * await s.shutdown();
 * ```
 */
export function serveHttp1(
  handler: (req: Request) => Response | Promise<Response>,
  opts: Http1ServerOptions,
): Http1Server {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: opts.port, transport: "tcp" });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Connection>();
  const served = new Set<Promise<void>>();
  let closing = false;
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      if (closing) {
        closeQuietly(conn);
        continue;
      }
      conn.setNoDelay(true);
      const c = new Connection(conn, port, handler, opts.onError);
      conns.add(c);
      const p = c.serve().finally(() => {
        conns.delete(c);
        served.delete(p);
      });
      served.add(p);
    }
  })();
  let stopping: Promise<void> | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  return {
    port,
    finished,
    shutdown() {
      stopping ??= (async () => {
        closing = true;
        try {
          listener.close();
        } catch { /* closed */ }
        await accepting;
        await Promise.allSettled([...conns].map((c) => c.close()));
        await Promise.allSettled([...served]);
        finish();
      })();
      return stopping;
    },
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

function indexOfCrlfCrlf(b: Uint8Array, from: number, end: number): number {
  for (let i = Math.max(from, 0); i + 3 < end; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function indexOfCrlf(b: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

class BadRequest extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

/** One client connection: reads requests one after another, writes responses in order. */
class Connection {
  #conn: Deno.TcpConn;
  #port: number;
  #handler: (req: Request) => Response | Promise<Response>;
  #onError: (e: unknown) => Response;
  /** Received, not yet consumed bytes: #buf[#start, #end). */
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;
  #dataWaiter?: () => void;
  #onEof?: () => void;
  /** Aborts the request being served when the client goes away. */
  #ac?: AbortController;
  #stream?: DirectStream;
  // Write queue: one write in flight, later ones coalesced.
  #writing = false;
  #queue: Uint8Array[] = [];
  #drained: (() => void)[] = [];
  #dead = false;

  constructor(
    conn: Deno.TcpConn,
    port: number,
    handler: (req: Request) => Response | Promise<Response>,
    onError: (e: unknown) => Response,
  ) {
    this.#conn = conn;
    this.#port = port;
    this.#handler = handler;
    this.#onError = onError;
  }

  /** Ends an open stream normally, flushes, closes. */
  async close(): Promise<void> {
    this.#dead = true;
    this.#stream?.close();
    await this.#flushed();
    closeQuietly(this.#conn);
  }

  async serve(): Promise<void> {
    const reading = this.#readLoop();
    try {
      while (!this.#dead) {
        const req = await this.#nextRequest();
        if (!req) break;
        const keep = await this.#respond(req.request, req.close);
        if (!keep) break;
      }
    } catch (e) {
      // A request that cannot be read (or a Request that cannot be built from it, e.g. a bad header name):
      // a 400 naming the problem, then the connection closes. Nothing here may reject: it would be unhandled.
      const bad = e instanceof BadRequest
        ? e
        : new BadRequest(`Malformed request: ${(e as Error)?.message ?? e}`);
      if (!this.#dead) this.#write(plainResponse(bad.status, JSON.stringify({ detail: bad.message }), true));
    } finally {
      await this.#flushed();
      this.#dead = true;
      closeQuietly(this.#conn);
      await reading;
    }
  }

  /** Reads until the client closes, appending to #buf; a close cancels what is being served. */
  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#append(chunk.subarray(0, n));
        this.#dataWaiter?.();
      }
    } catch { /* reset or closed by us */ }
    this.#gone();
  }

  /** The client went away (or a write failed): cancel what is being served, wake whoever waits. */
  #gone(): void {
    if (this.#eof) return;
    this.#eof = true;
    this.#ac?.abort();
    this.#stream?.cancel();
    this.#dataWaiter?.();
    const f = this.#onEof;
    this.#onEof = undefined;
    f?.();
  }

  #append(b: Uint8Array): void {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end + b.length > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + b.length <= this.#buf.length) this.#buf.copyWithin(0, this.#start, this.#end);
      else {
        const next = new Uint8Array((live + b.length) * 2);
        next.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(b, this.#end);
    this.#end += b.length;
  }

  /** Resolves when more bytes came (or the client closed). */
  #more(): Promise<void> {
    return new Promise((r) => (this.#dataWaiter = () => (this.#dataWaiter = undefined, r())));
  }

  async #nextRequest(): Promise<{ request: Request; close: boolean } | undefined> {
    // Head.
    // Bytes already scanned, counted from #start (#append may move the live bytes to the front).
    let scanned = 0;
    let headEnd: number;
    for (;;) {
      headEnd = indexOfCrlfCrlf(this.#buf, this.#start + scanned - 3, this.#end);
      if (headEnd >= 0) break;
      scanned = this.#end - this.#start;
      if (this.#end - this.#start > MAX_HEAD_BYTES) {
        throw new BadRequest(`Request head over ${MAX_HEAD_BYTES} bytes.`, 413);
      }
      if (this.#eof) {
        if (this.#end > this.#start) throw new BadRequest("Connection closed inside a request head.");
        return undefined;
      }
      await this.#more();
    }
    const head = latin1.decode(this.#buf.subarray(this.#start, headEnd));
    this.#start = headEnd + 4;
    const lines = head.split("\r\n");
    const [method, target, version] = lines[0].split(" ");
    if (!method || !target?.startsWith("/") || !version?.startsWith("HTTP/1.")) {
      throw new BadRequest(
        `Malformed request line '${lines[0].slice(0, 100)}'; send 'METHOD /path HTTP/1.1'.`,
      );
    }
    const headers = new Headers();
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(":");
      if (c <= 0) throw new BadRequest(`Malformed header line '${lines[i].slice(0, 100)}'.`);
      headers.append(lines[i].slice(0, c).trim(), lines[i].slice(c + 1).trim());
    }
    const connHeader = headers.get("connection")?.toLowerCase() ?? "";
    const close = version === "HTTP/1.0" ? !connHeader.includes("keep-alive") : connHeader.includes("close");
    if (headers.get("expect")?.toLowerCase() === "100-continue") {
      this.#write(enc.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    // Body.
    let body: Uint8Array | undefined;
    const te = headers.get("transfer-encoding");
    if (te !== null) {
      if (te.toLowerCase() !== "chunked") {
        throw new BadRequest(
          `Transfer-Encoding '${te}' is not supported; send chunked or a Content-Length.`,
          411,
        );
      }
      body = await this.#chunkedBody();
      headers.delete("transfer-encoding");
    } else {
      const cl = headers.get("content-length");
      if (cl !== null) {
        const n = Number(cl);
        if (!Number.isSafeInteger(n) || n < 0) throw new BadRequest(`Bad Content-Length '${cl}'.`);
        while (this.#end - this.#start < n) {
          if (this.#eof) throw new BadRequest("Connection closed inside a request body.");
          await this.#more();
        }
        body = this.#buf.slice(this.#start, this.#start + n);
        this.#start += n;
      }
    }
    this.#ac = new AbortController();
    const hasBody = method !== "GET" && method !== "HEAD" && body !== undefined;
    const request = new Request(`http://127.0.0.1:${this.#port}${target}`, {
      method,
      headers,
      body: hasBody ? (body as Uint8Array<ArrayBuffer>) : undefined,
      signal: this.#ac.signal,
    });
    return { request, close };
  }

  async #chunkedBody(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      let eol: number;
      while ((eol = indexOfCrlf(this.#buf, this.#start, this.#end)) < 0) {
        if (this.#eof) throw new BadRequest("Connection closed inside a chunked request body.");
        await this.#more();
      }
      const size = parseInt(latin1.decode(this.#buf.subarray(this.#start, eol)).split(";")[0], 16);
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new BadRequest("Malformed chunk size in the request body.");
      }
      this.#start = eol + 2;
      if (size === 0) {
        // Trailers (ignored) up to the empty line.
        for (;;) {
          while ((eol = indexOfCrlf(this.#buf, this.#start, this.#end)) < 0) {
            if (this.#eof) throw new BadRequest("Connection closed inside a chunked request body.");
            await this.#more();
          }
          const empty = eol === this.#start;
          this.#start = eol + 2;
          if (empty) break;
        }
        break;
      }
      while (this.#end - this.#start < size + 2) {
        if (this.#eof) throw new BadRequest("Connection closed inside a chunked request body.");
        await this.#more();
      }
      parts.push(this.#buf.slice(this.#start, this.#start + size));
      total += size;
      this.#start += size + 2;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) out.set(p, (o += p.length) - p.length);
    return out;
  }

  /** Serves one request; false when the connection must close after it. */
  async #respond(req: Request, close: boolean): Promise<boolean> {
    let res: Response;
    try {
      res = await this.#handler(req);
    } catch (e) {
      res = this.#onError(e);
    }
    if (this.#dead) return false;
    const stream = directStreamOf(res);
    if (stream) {
      this.#write(enc.encode(headText(res, close, "chunked")));
      this.#stream = stream;
      const done = new Promise<boolean>((resolve) => {
        const sink: DirectSink = {
          send: (pieces, last) => {
            this.#write(frame(pieces, last));
            if (last) resolve(true);
          },
          fail: () => {
            this.#dead = true;
            resolve(false);
          },
        };
        // A cancelled stream (client gone) resolves through #gone.
        this.#onEof = () => resolve(false);
        stream.attach(sink);
        if (this.#eof) {
          stream.cancel();
          resolve(false);
        }
      });
      const keep = await done;
      this.#onEof = undefined;
      this.#stream = undefined;
      return keep && !close && !this.#eof;
    }
    let body: Uint8Array;
    try {
      body = res.body ? await res.bytes() : new Uint8Array(0);
    } catch {
      // The body failed (the drop fault's response): the head goes out, then the connection is cut.
      this.#write(enc.encode(headText(res, true, "chunked")));
      return false;
    }
    const head = enc.encode(headText(res, close, body.length));
    const msg = new Uint8Array(head.length + body.length);
    msg.set(head, 0);
    msg.set(body, head.length);
    this.#write(msg);
    return !close && !this.#eof;
  }

  /** Queues bytes; the first write is issued now, later ones are coalesced behind it. */
  #write(b: Uint8Array): void {
    if (this.#eof) return;
    if (this.#writing) {
      this.#queue.push(b);
      return;
    }
    this.#pump(b);
  }

  async #pump(first: Uint8Array): Promise<void> {
    this.#writing = true;
    let b: Uint8Array | undefined = first;
    try {
      while (b) {
        let off = 0;
        while (off < b.length) off += await this.#conn.write(off ? b.subarray(off) : b);
        b = this.#queue.length === 0 ? undefined : concat(this.#queue.splice(0));
      }
    } catch {
      this.#queue.length = 0;
      this.#gone();
    } finally {
      this.#writing = false;
      for (const r of this.#drained.splice(0)) r();
    }
  }

  #flushed(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((r) => this.#drained.push(r));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Copies `src` into `dst` at `o`; a loop for the short parts of a chunk (cheaper than `set` there). */
function copy(dst: Uint8Array, src: Uint8Array, o: number): number {
  const n = src.length;
  if (n > 96) dst.set(src, o);
  else for (let i = 0; i < n; i++) dst[o + i] = src[i];
  return o + n;
}

const HEX = enc.encode("0123456789abcdef");

/** One chunked-encoding frame holding `pieces` (and the terminating chunk when `last`): one buffer. */
function frame(pieces: Uint8Array[], last: boolean): Uint8Array {
  let n = 0;
  for (const p of pieces) n += p.length;
  if (n === 0) return last ? END : new Uint8Array(0);
  let digits = 1;
  while (n >= 16 ** digits) digits++;
  const tail = last ? LAST : CRLF;
  const out = new Uint8Array(digits + 2 + n + tail.length);
  for (let i = digits - 1, v = n; i >= 0; i--, v >>>= 4) out[i] = HEX[v & 15];
  out[digits] = 13;
  out[digits + 1] = 10;
  let o = digits + 2;
  for (const p of pieces) o = copy(out, p, o);
  copy(out, tail, o);
  return out;
}

function headText(res: Response, close: boolean, length: number | "chunked"): string {
  let s = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}\r\n`;
  for (const [k, v] of res.headers) {
    if (k === "content-length" || k === "transfer-encoding" || k === "connection") continue;
    s += `${k}: ${v}\r\n`;
  }
  s += length === "chunked" ? "transfer-encoding: chunked\r\n" : `content-length: ${length}\r\n`;
  if (close) s += "connection: close\r\n";
  s += `date: ${new Date().toUTCString()}\r\n\r\n`;
  return s;
}

function plainResponse(status: number, body: string, close: boolean): Uint8Array {
  const b = enc.encode(body);
  const head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\ncontent-type: application/json\r\n` +
    `content-length: ${b.length}\r\n${close ? "connection: close\r\n" : ""}\r\n`;
  return concat([enc.encode(head), b]);
}
