import { ApiError, GoogleGenAI, type Content, type GenerateContentResponse, type GroundingMetadata } from '@google/genai';
import { deadline } from '../../infra/deadline.js';
import { asCaller, CallerFailure } from './caller-failure.js';
import { groundingFrom } from './grounding.js';
import { ModelError, tidyTitle, type ChatModel, type ChatTurn, type GenerationSettings, type ModelOutcome } from './model.js';
import { prepareContents } from './request-contents.js';

export interface GeminiOptions {
  apiKey: string;
  model: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
  systemInstruction?: string | undefined;
  maxOutputTokens: number;
  /**
   * The most base64 a request may carry as inlineData (GEMINI_INLINE_MAX_BYTES); files past it go
   * through the Files API. Default 20 MB, Gemini's long-documented limit on a request.
   */
  inlineMaxBytes?: number | undefined;
}

export const DEFAULT_INLINE_MAX_BYTES = 20_000_000;

// Statuses where Google asks clients to retry with backoff; everything else is the request's fault.
// (Whether and when to retry is the generation module's retry policy; this only names the failure.)
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/**
 * What Gemini answers a request naming a Files API copy it no longer has (expired, deleted): 403
 * "You do not have permission to access the File … or it may not exist"; 400 and 404 are taken alike.
 */
const REFUSED_FILE_STATUSES = new Set([400, 403, 404]);

/** A response stopped for one of these reasons carries no usable answer when it has no text. */
const BLOCKING_FINISH_REASONS = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

function toModelError(error: unknown, timedOut: boolean): ModelError {
  if (error instanceof ModelError) return error;
  if (timedOut) return new ModelError('MODEL_TIMEOUT', 'Gemini did not finish in time');
  if (error instanceof ApiError) {
    const code = error.status === 429 ? 'MODEL_RATE_LIMITED' : TRANSIENT_STATUSES.has(error.status) ? 'MODEL_UNAVAILABLE' : 'MODEL_REJECTED';
    // ApiError.message is Gemini's raw JSON body: keep it for the log, not for the client.
    return new ModelError(code, `Gemini answered HTTP ${error.status}`, error.status);
  }
  return new ModelError('MODEL_NETWORK_ERROR', `Could not reach Gemini: ${(error as Error).message}`);
}

/** The text of a chunk, without the model's "thought" parts. */
function textOf(chunk: GenerateContentResponse): string {
  const parts = chunk.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((part) => !part.thought && typeof part.text === 'string')
    .map((part) => part.text)
    .join('');
}

/** The thought-summary text of a chunk (parts marked `thought`). */
function thoughtsOf(chunk: GenerateContentResponse): string {
  const parts = chunk.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((part) => part.thought === true && typeof part.text === 'string')
    .map((part) => part.text)
    .join('');
}

const TITLE_INSTRUCTION =
  'You name conversations. Answer with a short title (at most six words) for the conversation below, in its language: ' +
  'no quotes, no trailing period, nothing else.';
/** A snippet of each side is plenty to name a conversation, and keeps the title call cheap. */
const TITLE_SNIPPET_CHARS = 1_000;

/** A null budget leaves the model's default budget: only includeThoughts is sent then. */
function thinkingConfigOf(thinking: NonNullable<GenerationSettings['thinking']>): { thinkingBudget?: number; includeThoughts: boolean } {
  return { ...(thinking.budget === null ? {} : { thinkingBudget: thinking.budget }), includeThoughts: thinking.includeThoughts };
}

/** Only this folder imports @google/genai. */
export function createGeminiModel(options: GeminiOptions): ChatModel {
  const ai = new GoogleGenAI({
    apiKey: options.apiKey,
    // SDK 3 calls /v1 by default; the API surface we use (systemInstruction, thought parts, the
    // streamed form) is the one documented on /v1beta, where SDK 2 called: pinned, not defaulted.
    apiVersion: 'v1beta',
    // No SDK retries: the generation queue retries the whole job with backoff, off the worker slot.
    httpOptions: options.baseUrl ? { baseUrl: options.baseUrl } : {},
  });
  const inlineMaxBytes = options.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;

  return {
    name: options.model,
    async generate(turns: ChatTurn[], onDelta, signal, settings: GenerationSettings = {}, onThought): Promise<ModelOutcome> {
      // Our own deadline, so that a timeout is told apart from the caller's cancellation. It covers
      // the file uploads too: they are part of answering.
      const call = deadline(options.timeoutMs, signal);
      const abortSignal = call.signal;
      const outcome: ModelOutcome = { finishReason: null, usage: null, grounding: null };
      let produced = 0;
      let answer = '';
      // Gemini sends the grounding metadata with the last chunks; the newest is the whole of it.
      let groundingMetadata: GroundingMetadata | undefined;
      const systemInstruction = settings.systemInstruction ?? options.systemInstruction;

      const send = async (contents: Content[]): Promise<void> => {
        const stream = await ai.models.generateContentStream({
          // The chatroom's model, if it chose one (from GEMINI_MODELS), goes in the call's path.
          model: settings.model ?? options.model,
          contents,
          config: {
            abortSignal,
            maxOutputTokens: options.maxOutputTokens,
            ...(systemInstruction ? { systemInstruction } : {}),
            ...(settings.temperature === null || settings.temperature === undefined ? {} : { temperature: settings.temperature }),
            ...(settings.thinking ? { thinkingConfig: thinkingConfigOf(settings.thinking) } : {}),
            ...(settings.grounding ? { tools: [{ googleSearch: {} }] } : {}),
          },
        });
        for await (const chunk of stream) {
          const blockReason = chunk.promptFeedback?.blockReason;
          if (blockReason) {
            throw new ModelError('PROMPT_BLOCKED', `Gemini declined the prompt (${blockReason})`);
          }
          const thought = thoughtsOf(chunk);
          if (thought && onThought) await asCaller(() => onThought(thought));
          const text = textOf(chunk);
          if (text) {
            produced += text.length;
            answer += text;
            // A failure of the caller's delta callback (storage) is passed through as it is.
            await asCaller(() => onDelta(text));
          }
          outcome.finishReason = chunk.candidates?.[0]?.finishReason ?? outcome.finishReason;
          groundingMetadata = chunk.candidates?.[0]?.groundingMetadata ?? groundingMetadata;
          if (chunk.usageMetadata) {
            outcome.usage = {
              promptTokens: chunk.usageMetadata.promptTokenCount ?? 0,
              outputTokens: chunk.usageMetadata.candidatesTokenCount ?? 0,
              thoughtsTokens: chunk.usageMetadata.thoughtsTokenCount ?? 0,
              cachedTokens: chunk.usageMetadata.cachedContentTokenCount ?? 0,
              totalTokens: chunk.usageMetadata.totalTokenCount ?? 0,
            };
          }
        }
      };

      try {
        const prepared = await prepareContents(ai, turns, { inlineMaxBytes, signal: abortSignal });
        try {
          await send(prepared.contents);
        } catch (error) {
          const refused = error instanceof ApiError && REFUSED_FILE_STATUSES.has(error.status);
          if (!refused || produced > 0 || prepared.reused.length === 0) throw error;
          // Gemini may drop a copy before the expiry it announced: forget the remembered copies,
          // upload them again and ask once more.
          for (const content of prepared.reused) await asCaller(() => content.rememberRemote(null));
          const again = await prepareContents(ai, turns, { inlineMaxBytes, signal: abortSignal, distrusted: new Set(prepared.reused) });
          await send(again.contents);
        }
      } catch (error) {
        if (error instanceof CallerFailure) throw error.failure;
        signal.throwIfAborted();
        throw toModelError(error, call.timedOut);
      } finally {
        call.dispose();
      }
      if (produced === 0 && outcome.finishReason !== null && BLOCKING_FINISH_REASONS.has(outcome.finishReason)) {
        throw new ModelError('RESPONSE_BLOCKED', `Gemini withheld its answer (${outcome.finishReason})`, undefined, outcome.finishReason);
      }
      return { ...outcome, grounding: groundingFrom(groundingMetadata, answer) };
    },

    async proposeTitle({ prompt, reply }, maxChars, signal): Promise<string> {
      const call = deadline(options.timeoutMs, signal);
      try {
        const response = await ai.models.generateContent({
          model: options.model,
          contents: [
            {
              role: 'user',
              parts: [{ text: `User: ${prompt.slice(0, TITLE_SNIPPET_CHARS)}\n\nAssistant: ${reply.slice(0, TITLE_SNIPPET_CHARS)}` }],
            },
          ],
          config: { abortSignal: call.signal, systemInstruction: TITLE_INSTRUCTION },
        });
        return tidyTitle(textOf(response), maxChars);
      } catch (error) {
        signal.throwIfAborted();
        throw toModelError(error, call.timedOut);
      } finally {
        call.dispose();
      }
    },
  };
}
