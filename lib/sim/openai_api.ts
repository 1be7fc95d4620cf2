/**
 * The OpenAI-compatible wire format of the embedded engine, as vLLM 0.11.0 serves it: request schemas
 * (zod, lenient like vLLM's pydantic models: unknown fields are accepted), error bodies, response and
 * stream-chunk shapes, SSE framing. No I/O here; server.ts wires it to the runtime.
 * @module
 */
import { z } from "zod";

/** An error with vLLM's HTTP status, error type and offending parameter. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly type = "BadRequestError",
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/**
 * vLLM's error body (since v0.10.2, PR #22099): `{"error": {"message", "type", "param", "code"}}`.
 *
 * @example
 * ```ts
 * errorBody(new ApiError("bad")); // { error: { message: "bad", type: "BadRequestError", param: null, code: 400 } }
 * ```
 */
export function errorBody(
  e: ApiError,
): { error: { message: string; type: string; param: string | null; code: number } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.status } };
}

/** The prompt-too-long message of vLLM 0.11.0 (`serving_engine._validate_input`). */
export function contextLengthError(
  max_model_len: number,
  prompt_tokens: number,
  max_tokens?: number,
): ApiError {
  if (max_tokens === undefined) {
    return new ApiError(
      `This model's maximum context length is ${max_model_len} tokens. However, you requested ` +
        `${prompt_tokens} tokens in the messages, Please reduce the length of the messages.`,
    );
  }
  return new ApiError(
    `This model's maximum context length is ${max_model_len} tokens. However, you requested ` +
      `${
        prompt_tokens + max_tokens
      } tokens (${prompt_tokens} in the messages, ${max_tokens} in the completion). ` +
      `Please reduce the length of the messages or completion.`,
  );
}

const StreamOptions = z.looseObject({
  include_usage: z.boolean().nullish(),
  continuous_usage_stats: z.boolean().nullish(),
}).nullish();

const TokenIds = z.array(z.number().int().nonnegative());

/** Sampling fields both endpoints accept (the ones the engine uses; others are accepted and ignored). */
const Sampling = {
  model: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
  n: z.number().int().nullish(),
  min_tokens: z.number().int().nonnegative().nullish(),
  ignore_eos: z.boolean().nullish(),
  temperature: z.number().nonnegative().nullish(),
  seed: z.number().int().nullish(),
  cache_salt: z.string().nullish(),
};

/** `POST /v1/completions` body. */
export const CompletionRequest = z.looseObject({
  ...Sampling,
  prompt: z.union([z.string(), TokenIds, z.array(z.string()), z.array(TokenIds)]),
  /** vLLM's completions default is 16. */
  max_tokens: z.number().int().nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const ChatMessage = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(ContentPart)]).nullish(),
});

/** `POST /v1/chat/completions` body. */
export const ChatRequest = z.looseObject({
  ...Sampling,
  messages: z.array(ChatMessage).min(1),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  add_generation_prompt: z.boolean().nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/** `POST /tokenize` body: a prompt or a chat. */
export const TokenizeRequest = z.union([
  z.looseObject({
    model: z.string().nullish(),
    prompt: z.string(),
    add_special_tokens: z.boolean().nullish(),
  }),
  z.looseObject({
    model: z.string().nullish(),
    messages: z.array(ChatMessage).min(1),
    add_generation_prompt: z.boolean().nullish(),
  }),
]);

/** `POST /detokenize` body. */
export const DetokenizeRequest = z.looseObject({ model: z.string().nullish(), tokens: TokenIds });

/** Text of a chat message's content (text parts joined; other parts are not supported). */
export function messageText(m: z.infer<typeof ChatMessage>): string {
  if (m.content === undefined || m.content === null) return "";
  if (typeof m.content === "string") return m.content;
  return m.content.map((p) => {
    if (p.type !== "text") {
      throw new ApiError(
        `Content part type '${p.type}' is not supported by the embedded engine; send text parts only.`,
        400,
        "BadRequestError",
        "messages",
      );
    }
    return p.text ?? "";
  }).join("");
}

/**
 * Parses a JSON body with a schema, throwing vLLM-style 400s that name the field, the problem and the fix.
 */
export function parseBody<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.join(".");
  throw new ApiError(
    `Invalid ${what} request: ${path ? `field '${path}'` : "body"}: ${issue.message}.`,
    400,
    "BadRequestError",
    path || null,
  );
}

/** Token usage as vLLM reports it; `prompt_tokens_details` only with `--enable-prompt-tokens-details`. */
export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number } | null;
}

/** Builds `usage`. */
export function usage(prompt: number, completion: number, cached: number | undefined): Usage {
  return {
    prompt_tokens: prompt,
    total_tokens: prompt + completion,
    completion_tokens: completion,
    prompt_tokens_details: cached === undefined ? null : { cached_tokens: cached },
  };
}

/** What every response and chunk of one request shares. */
export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

/** One streamed completion chunk. */
export function completionChunk(h: ResponseHead, text: string, finish: string | null, u?: Usage): unknown {
  return {
    id: h.id,
    object: "text_completion",
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null }],
    ...(u ? { usage: u } : {}),
  };
}

/** One streamed chat chunk; `role` only in the first. */
export function chatChunk(
  h: ResponseHead,
  delta: { role?: string; content?: string },
  finish: string | null,
  u?: Usage,
): unknown {
  return {
    id: h.id,
    object: "chat.completion.chunk",
    created: h.created,
    model: h.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(u ? { usage: u } : {}),
  };
}

/** The final usage chunk (`stream_options.include_usage`): empty choices. */
export function usageChunk(h: ResponseHead, object: string, u: Usage): unknown {
  return { id: h.id, object, created: h.created, model: h.model, choices: [], usage: u };
}

/** A non-streamed completion. */
export function completionResponse(h: ResponseHead, text: string, finish: string, u: Usage): unknown {
  return {
    id: h.id,
    object: "text_completion",
    created: h.created,
    model: h.model,
    choices: [{
      index: 0,
      text,
      logprobs: null,
      finish_reason: finish,
      stop_reason: null,
      prompt_logprobs: null,
    }],
    service_tier: null,
    system_fingerprint: null,
    usage: u,
    kv_transfer_params: null,
  };
}

/** A non-streamed chat completion. */
export function chatResponse(h: ResponseHead, content: string, finish: string, u: Usage): unknown {
  return {
    id: h.id,
    object: "chat.completion",
    created: h.created,
    model: h.model,
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content,
        refusal: null,
        annotations: null,
        audio: null,
        function_call: null,
        tool_calls: [],
        reasoning_content: null,
      },
      logprobs: null,
      finish_reason: finish,
      stop_reason: null,
    }],
    service_tier: null,
    system_fingerprint: null,
    usage: u,
    prompt_logprobs: null,
    kv_transfer_params: null,
  };
}

/**
 * SSE chunks of one streamed response, pre-rendered around the parts that change (token text, finish
 * reason, usage): the same bytes as `sse(completionChunk(...))` / `sse(chatChunk(...))`, cheaper per token.
 *
 * @example
 * ```ts
 * const w = chunkWriter("completion", { id: "cmpl-1", created: 0, model: "m" });
 * new TextDecoder().decode(w.content(" hi", null)); // 'data: {"id":"cmpl-1",...,"text":" hi",...}\n\n'
 * ```
 */
export function chunkWriter(kind: "completion" | "chat", h: ResponseHead): {
  content(text: string, finish: string | null, u?: Usage): Uint8Array;
  role(u?: Usage): Uint8Array;
} {
  const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const head = `data: {"id":${JSON.stringify(h.id)},"object":"${object}","created":${h.created},"model":${
    JSON.stringify(h.model)
  },"choices":[{"index":0,`;
  const tail = (finish: string | null, u?: Usage) =>
    `"finish_reason":${finish === null ? "null" : JSON.stringify(finish)}${
      kind === "completion" ? ',"stop_reason":null' : ""
    }}]${u ? `,"usage":${JSON.stringify(u)}` : ""}}\n\n`;
  return {
    content(text, finish, u) {
      const body = kind === "chat"
        ? `"delta":{"content":${JSON.stringify(text)}},"logprobs":null,`
        : `"text":${JSON.stringify(text)},"logprobs":null,`;
      return enc.encode(head + body + tail(finish, u));
    },
    role(u) {
      return enc.encode(head + `"delta":{"role":"assistant","content":""},"logprobs":null,` + tail(null, u));
    },
  };
}

const enc = new TextEncoder();

/**
 * One SSE event: `data: <json>\n\n` (or `data: [DONE]\n\n`).
 *
 * @example
 * ```ts
 * new TextDecoder().decode(sse("[DONE]")); // "data: [DONE]\n\n"
 * ```
 */
export function sse(data: unknown): Uint8Array {
  return enc.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
}
