/**
 * zod schemas for the probe's boundary types: a `ProbeRequest` from a parameters cell or a workload file,
 * and a `RequestRecord` read back from a results file. Each is checked at compile time against the
 * TypeScript type in types.ts, so the two cannot drift apart.
 * @module
 */
import { z } from "zod";
import type { ProbeRequest, RequestRecord } from "./types.ts";

const Tags = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const Endpoint = z.enum(["completions", "chat"]);

/** A request to send (see `ProbeRequest`); token-id prompts are for completions only. */
export const ProbeRequestSchema = z.object({
  endpoint: Endpoint,
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.number().int().nonnegative())]),
  max_tokens: z.number().int().positive(),
  min_tokens: z.number().int().nonnegative().optional(),
  ignore_eos: z.boolean().optional(),
  temperature: z.number().nonnegative().optional(),
  seed: z.number().int().optional(),
  tags: Tags.optional(),
}).strict().refine((r) => r.endpoint === "completions" || typeof r.prompt === "string", {
  message: 'Chat takes a text prompt; send token ids with endpoint "completions".',
  path: ["prompt"],
});

const ms = z.number().finite();
const count = z.number().int().nonnegative();

/** A per-request record as written by the probe (see `RequestRecord`). */
export const RequestRecordSchema = z.object({
  request_id: z.string(),
  endpoint: Endpoint,
  index: count.optional(),
  phase: z.enum(["warmup", "measure"]).optional(),
  ok: z.boolean(),
  error_kind: z.enum([
    "http_status",
    "timeout",
    "connection",
    "bad_stream",
    "stream_error",
    "empty",
    "aborted",
  ])
    .optional(),
  error_message: z.string().optional(),
  http_status: z.number().int().optional(),
  t_intended_ms: ms,
  t_send_ms: ms,
  t_headers_ms: ms.optional(),
  t_first_event_ms: ms.optional(),
  t_first_choice_ms: ms.optional(),
  t_first_content_ms: ms.optional(),
  t_end_ms: ms,
  chunk_ms: z.array(ms),
  prompt_tokens: count.optional(),
  completion_tokens: count.optional(),
  cached_tokens: count.optional(),
  finish_reason: z.string().optional(),
  output_chars: count,
  server: z.object({
    arrival_ms: ms,
    first_token_ms: ms.optional(),
    end_ms: ms.optional(),
    token_ms: z.array(ms).optional(),
  }).optional(),
  tags: Tags.optional(),
}).strict();

/** True when A and B are assignable both ways and have the same keys (optional ones included). */
type Same<A, B> = [A] extends [B]
  ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false)
    : false)
  : false;
const _requestMatches: Same<z.infer<typeof ProbeRequestSchema>, ProbeRequest> = true;
const _recordMatches: Same<z.infer<typeof RequestRecordSchema>, RequestRecord> = true;
