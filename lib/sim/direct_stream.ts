/**
 * The embedded engine's streamed responses without web streams, for its raw-socket HTTP/1.1 server
 * (http1_server.ts): a request's listener hands each engine step's SSE events to a {@link DirectStream}
 * as one `send`, the server turns that into one chunked-encoding frame and one socket write. The bytes of
 * a plain token chunk are assembled from parts encoded once (the request's head, the token's JSON text,
 * the tail) copied into the frame, not rendered and encoded per token. Under Deno.serve the same handler uses a ReadableStream
 * (server.ts); the bytes on the wire are the same.
 * @module
 */
import type { ResponseHead } from "./openai_api.ts";

/** Where a {@link DirectStream}'s bytes go once the server has written the response head. */
export interface DirectSink {
  /** Writes these SSE events as one frame; `last` ends the body in the same write. */
  send(pieces: Uint8Array[], last: boolean): void;
  /** Cuts the connection after what was sent (the drop fault). */
  fail(reason: Error): void;
}

/**
 * One streamed response body. Events sent before the server attaches its sink are kept and go out
 * in the first write.
 */
export class DirectStream {
  #sink?: DirectSink;
  #held: Uint8Array[] = [];
  #state: "open" | "ended" | { failed: Error } = "open";
  #onCancel: () => void;

  /** `onCancel` runs when the client goes away before the end (the server calls {@link cancel}). */
  constructor(onCancel: () => void) {
    this.#onCancel = onCancel;
  }

  /** True once ended, failed or cancelled. */
  get done(): boolean {
    return this.#state !== "open";
  }

  /** Sends one step's events (one write once attached). */
  send(...pieces: Uint8Array[]): void {
    if (this.#state !== "open") return;
    if (this.#sink) this.#sink.send(pieces, false);
    else this.#held.push(...pieces);
  }

  /** Sends the last events and ends the body in the same write. */
  end(...pieces: Uint8Array[]): void {
    if (this.#state !== "open") return;
    this.#state = "ended";
    if (this.#sink) this.#sink.send(pieces, true);
    else this.#held.push(...pieces);
  }

  /** Cuts the connection after what was sent (the drop fault). */
  fail(reason: Error): void {
    if (this.#state !== "open") return;
    this.#state = { failed: reason };
    this.#sink?.fail(reason);
  }

  /** The client went away: nothing more is sent, the request is aborted. Idempotent. */
  cancel(): void {
    if (this.#state !== "open") return;
    this.#state = "ended";
    this.#onCancel();
  }

  /** The server's sink, after it wrote the response head; held events go out at once. */
  attach(sink: DirectSink): void {
    this.#sink = sink;
    const held = this.#held;
    this.#held = [];
    const s = this.#state;
    if (s === "open") {
      if (held.length) sink.send(held, false);
    } else if (s === "ended") sink.send(held, true);
    else {
      if (held.length) sink.send(held, false);
      sink.fail(s.failed);
    }
  }

  /** `close()` for shutdown (an open stream, e.g. a stalled one, ends normally). */
  close(): void {
    this.end();
  }
}

const DIRECT = new WeakMap<Response, DirectStream>();

/**
 * A response whose body is `stream`: a body-less Response carrying status and headers, which only the
 * raw-socket server knows how to serve ({@link directStreamOf}).
 */
export function directResponse(stream: DirectStream, status: number, headers: HeadersInit): Response {
  const res = new Response(null, { status, headers });
  DIRECT.set(res, stream);
  return res;
}

/** The direct body of a response made by {@link directResponse}, if it is one. */
export function directStreamOf(res: Response): DirectStream | undefined {
  return DIRECT.get(res);
}

const enc = new TextEncoder();

/** JSON string of each token's text, encoded once per token id. */
const tokenJson = new Map<number, Uint8Array>();

/**
 * The SSE event of a token chunk with no finish reason and no usage (nearly every chunk), as the three
 * parts of its bytes: the request's head and the tail, encoded once per request, and the token's JSON
 * text, encoded once per token id (`text` must be the tokenizer's text of an id). Concatenated they are
 * the bytes of `chunkWriter(kind, head).content(text, null)`; the server copies them into its frame, so
 * no buffer is made per chunk here.
 *
 * @example
 * ```ts
 * const tc = tokenChunks("completion", { id: "cmpl-1", created: 0, model: "m" }, () => " hi");
 * tc(42); // [data: {"id":"cmpl-1",...,"text":] [" hi"] [,"logprobs":null,...}]}\n\n]
 * ```
 */
export function tokenChunks(
  kind: "completion" | "chat",
  h: ResponseHead,
  text: (token_id: number) => string,
): (token_id: number) => [Uint8Array, Uint8Array, Uint8Array] {
  const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const head = enc.encode(
    `data: {"id":${JSON.stringify(h.id)},"object":"${object}","created":${h.created},"model":${
      JSON.stringify(h.model)
    },"choices":[{"index":0,${kind === "chat" ? `"delta":{"content":` : `"text":`}`,
  );
  const tail = enc.encode(
    `${kind === "chat" ? "}" : ""},"logprobs":null,"finish_reason":null${
      kind === "completion" ? ',"stop_reason":null' : ""
    }}]}\n\n`,
  );
  return (token_id) => {
    let t = tokenJson.get(token_id);
    if (t === undefined) tokenJson.set(token_id, t = enc.encode(JSON.stringify(text(token_id))));
    return [head, t, tail];
  };
}
