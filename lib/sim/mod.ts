/** lib/sim: see shared/DESIGN.md. @module */
export type * from "./types.ts";
export {
  applyChatTemplate,
  countTokens,
  decode,
  encode,
  ENDOFTEXT_TOKEN_ID,
  EOS_TOKEN_ID,
  IM_START_TOKEN_ID,
  QWEN_DEFAULT_SYSTEM,
  requestSeed,
  SPECIAL_TOKENS,
  syntheticText,
  syntheticTokenIds,
  tokenFor,
  tokenStrings,
  VOCAB_SIZE,
} from "./tokenizer.ts";
export type { ChatMessage, ChatTemplateOptions, DecodeOptions, TokenForOptions } from "./tokenizer.ts";
