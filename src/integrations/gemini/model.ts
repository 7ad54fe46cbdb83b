import type { Grounding } from './grounding.js';

/** The one model interface the generation worker knows; Gemini and the offline stand-in implement it. */

/** A copy of a file on Gemini's Files API, which keeps it for 48 hours. */
export interface RemoteFile {
  uri: string;
  mimeType: string;
  expiresAt: Date;
}

/** Where a file's bytes come from; the caller's file store stands behind it. */
export interface ModelFileContent {
  /** The whole file, for inlineData or a text part. */
  bytes(): Promise<Buffer>;
  /** The file for ai.files.upload, read lazily. */
  blob(): Promise<Blob>;
  /** A Files API copy an earlier call made (it may have expired since). */
  remote: RemoteFile | null;
  /** Stores (or, with null, forgets) the Files API copy for later calls. */
  rememberRemote(remote: RemoteFile | null): Promise<void>;
}

export interface ModelFile {
  name: string;
  mimeType: string;
  sizeBytes: number;
  /** null: its owner deleted it; the model gets a note in its place. */
  content: ModelFileContent | null;
}

export interface ChatTurn {
  role: 'user' | 'model';
  text: string;
  /** Sent before the text, in this order. */
  files?: ModelFile[];
}

/** A reply's tokens as Gemini counts them: `outputTokens` is the answer's own (thoughts apart). */
export interface ModelUsage {
  promptTokens: number;
  outputTokens: number;
  thoughtsTokens: number;
  cachedTokens: number;
  totalTokens: number;
}

export interface ModelOutcome {
  /** As the model said it (`STOP`, `MAX_TOKENS`, `SAFETY`, …). */
  finishReason: string | null;
  usage: ModelUsage | null;
  /** The sources of an answer that used Google Search (settings.grounding), or null. */
  grounding: Grounding | null;
}

/** A chatroom's own settings for its replies; each null or absent = the server's default. */
export interface GenerationSettings {
  model?: string | null;
  systemInstruction?: string | null;
  temperature?: number | null;
  /** Gemini's thinking; null or absent = the model's own default (no thinkingConfig sent). */
  thinking?: { budget: number | null; includeThoughts: boolean } | null;
  /** Answers may use Google Search (the googleSearch tool). */
  grounding?: boolean;
}

export interface ChatModel {
  readonly name: string;
  /**
   * Streams the reply to `onDelta`, chunk by chunk, and resolves with how it ended. Throws
   * ModelError for the model's own failures; an error thrown by `onDelta` is passed through
   * unchanged (it is the caller's failure, not the model's). Thought summaries (when the settings
   * ask for them) go to `onThought`, never to `onDelta`; a model without thoughts never calls it.
   */
  generate(
    turns: ChatTurn[],
    onDelta: (text: string) => Promise<void>,
    signal: AbortSignal,
    settings?: GenerationSettings,
    onThought?: (text: string) => Promise<void>,
  ): Promise<ModelOutcome>;
  /** A short title (at most `maxChars`) for a conversation that starts with this exchange. Throws ModelError. */
  proposeTitle(exchange: { prompt: string; reply: string }, maxChars: number, signal: AbortSignal): Promise<string>;
  /** Loads what the first call needs, so that it does not wait for it (the worker calls it at start). */
  warmUp?(): Promise<void>;
}

/** A proposed title made fit to show: one line, no quotes or trailing period, at most `maxChars`. */
export function tidyTitle(raw: string, maxChars: number): string {
  const line = raw.replace(/\s+/g, ' ').trim().replace(/^["'`*#\s]+|["'`*.\s]+$/g, '');
  if (line.length <= maxChars) return line;
  const cut = line.slice(0, maxChars - 1);
  const atWord = cut.lastIndexOf(' ');
  return `${(atWord > maxChars / 2 ? cut.slice(0, atWord) : cut).trimEnd()}…`;
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
    /** Why the model stopped, when it stopped for a reason of its own (`SAFETY`, `RECITATION`, …). */
    readonly finishReason?: string,
  ) {
    super(message);
  }
}
