/** The one model interface the generation worker knows; Gemini and the offline stand-in implement it. */

export interface ChatTurn {
  role: 'user' | 'model';
  text: string;
}

export interface ModelOutcome {
  /** As the model said it (`STOP`, `MAX_TOKENS`, `SAFETY`, …). */
  finishReason: string | null;
  usage: { promptTokens: number; outputTokens: number } | null;
}

export interface ChatModel {
  readonly name: string;
  /**
   * Streams the reply to `onDelta`, chunk by chunk, and resolves with how it ended. Throws
   * ModelError for the model's own failures; an error thrown by `onDelta` is passed through
   * unchanged (it is the caller's failure, not the model's).
   */
  generate(turns: ChatTurn[], onDelta: (text: string) => Promise<void>, signal: AbortSignal): Promise<ModelOutcome>;
}

export type ModelErrorCode =
  | 'MODEL_RATE_LIMITED'
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_TIMEOUT'
  | 'MODEL_NETWORK_ERROR'
  | 'MODEL_REJECTED'
  | 'PROMPT_BLOCKED'
  | 'RESPONSE_BLOCKED';

export class ModelError extends Error {
  override name = 'ModelError';

  constructor(
    readonly code: ModelErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
