import { ApiError, GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import { deadline } from '../../infra/deadline.js';
import { ModelError, tidyTitle, type ChatModel, type ChatTurn, type GenerationSettings, type ModelOutcome } from './model.js';

export interface GeminiOptions {
  apiKey: string;
  model: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
  systemInstruction?: string | undefined;
  maxOutputTokens: number;
}

// Statuses where Google asks clients to retry with backoff; everything else is the request's fault.
// (Whether and when to retry is the generation module's retry policy; this only names the failure.)
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

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

const TITLE_INSTRUCTION =
  'You name conversations. Answer with a short title (at most six words) for the conversation below, in its language: ' +
  'no quotes, no trailing period, nothing else.';
/** A snippet of each side is plenty to name a conversation, and keeps the title call cheap. */
const TITLE_SNIPPET_CHARS = 1_000;

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

  return {
    name: options.model,
    async generate(turns: ChatTurn[], onDelta, signal, settings: GenerationSettings = {}): Promise<ModelOutcome> {
      // Our own deadline, so that a timeout is told apart from the caller's cancellation.
      const call = deadline(options.timeoutMs, signal);
      const abortSignal = call.signal;
      let finishReason: string | null = null;
      let usage: ModelOutcome['usage'] = null;
      let produced = 0;
      // A failure of the caller's delta callback (storage) is passed through as it is, never
      // dressed up as a model error: it must not look like a network failure of Gemini.
      let callbackFailure: { error: unknown } | undefined;
      try {
        const systemInstruction = settings.systemInstruction ?? options.systemInstruction;
        const stream = await ai.models.generateContentStream({
          // The chatroom's model, if it chose one (from GEMINI_MODELS), goes in the call's path.
          model: settings.model ?? options.model,
          contents: turns.map((turn) => ({ role: turn.role, parts: [{ text: turn.text }] })),
          config: {
            abortSignal,
            maxOutputTokens: options.maxOutputTokens,
            ...(systemInstruction ? { systemInstruction } : {}),
            ...(settings.temperature === null || settings.temperature === undefined ? {} : { temperature: settings.temperature }),
          },
        });
        for await (const chunk of stream) {
          const blockReason = chunk.promptFeedback?.blockReason;
          if (blockReason) {
            throw new ModelError('PROMPT_BLOCKED', `Gemini declined the prompt (${blockReason})`);
          }
          const text = textOf(chunk);
          if (text) {
            produced += text.length;
            try {
              await onDelta(text);
            } catch (error) {
              callbackFailure = { error };
              throw error;
            }
          }
          finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
          if (chunk.usageMetadata) {
            usage = {
              promptTokens: chunk.usageMetadata.promptTokenCount ?? 0,
              outputTokens: chunk.usageMetadata.candidatesTokenCount ?? 0,
            };
          }
        }
      } catch (error) {
        if (callbackFailure) throw callbackFailure.error;
        signal.throwIfAborted();
        throw toModelError(error, call.timedOut);
      } finally {
        call.dispose();
      }
      if (produced === 0 && finishReason !== null && BLOCKING_FINISH_REASONS.has(finishReason)) {
        throw new ModelError('RESPONSE_BLOCKED', `Gemini withheld its answer (${finishReason})`);
      }
      return { finishReason, usage };
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
