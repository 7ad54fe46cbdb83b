import { setTimeout as sleep } from 'node:timers/promises';
import { formatSize } from '../../shared/byte-size.js';
import type { Grounding } from './grounding.js';
import { tidyTitle, type ChatModel, type ChatTurn, type GenerationSettings, type ModelFile, type ModelOutcome } from './model.js';

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/*
 * With thoughts or Google Search asked for, the stand-in shows where they appear (a thought, a source
 * with its citation, a search-suggestion box), each saying that it is the stand-in's, not Gemini's.
 */
const DEMO_THOUGHT =
  '[offline stand-in] This chatroom asks for thoughts, so here is where Gemini\'s thought summary appears. ' +
  'No model thought about this prompt.';
const DEMO_GROUNDED_SENTENCE = 'With Google Search on, Gemini cites the web pages its answer rests on, like this one. ';
const DEMO_SOURCE = {
  uri: 'https://ai.google.dev/gemini-api/docs/google-search',
  title: '[offline stand-in] Grounding with Google Search (Gemini API documentation)',
};
const DEMO_SEARCH_ENTRY_POINT =
  '<style>p{font:14px system-ui,sans-serif;margin:8px;color:#444}</style>' +
  '<p>[offline stand-in] Google\'s search suggestions appear here when Gemini grounds an answer. No search ran.</p>';

/** The stand-in's grounding: one source, cited for the sentence about it. */
function demoGrounding(reply: string): Grounding {
  const startIndex = reply.indexOf(DEMO_GROUNDED_SENTENCE);
  return {
    queries: ['[offline stand-in] no search ran'],
    sources: [DEMO_SOURCE],
    citations: [{ startIndex, endIndex: startIndex + DEMO_GROUNDED_SENTENCE.trimEnd().length, sourceIndices: [0] }],
    searchEntryPoint: DEMO_SEARCH_ENTRY_POINT,
  };
}

/**
 * Stands in for Gemini when GEMINI_API_KEY is unset, so the whole product runs with nothing
 * configured. It says plainly that it is offline, and streams word by word like the real thing.
 */
export function createOfflineModel({ delayMs = 15 }: { delayMs?: number } = {}): ChatModel {
  return {
    name: 'offline-stand-in',
    async generate(turns: ChatTurn[], onDelta, signal, settings: GenerationSettings = {}, onThought): Promise<ModelOutcome> {
      const newest = turns.at(-1);
      const prompt = newest?.text ?? '';
      const quoted = prompt.length > 200 ? `${prompt.slice(0, 200)}…` : prompt;
      const earlier = turns.length - 1;
      const reply =
        `[offline stand-in] Gemini is not configured on this server (GEMINI_API_KEY is unset), so this reply ` +
        `was generated locally. ${prompt === '' ? '' : `You said: "${quoted}". `}` +
        describeFiles(newest?.files ?? []) +
        (settings.grounding ? DEMO_GROUNDED_SENTENCE : '') +
        `I was given ${earlier} earlier turn${earlier === 1 ? '' : 's'} of this chat as context.`;
      const thoughts = settings.thinking?.includeThoughts && onThought ? DEMO_THOUGHT : '';
      /** Word by word, as a model streams, until the caller stops it. */
      const streamWords = async (text: string, emit: (word: string) => Promise<void> | void) => {
        for (const word of text.match(/\S+\s*/g) ?? []) {
          signal.throwIfAborted();
          await emit(word);
          if (delayMs > 0) await sleep(delayMs, undefined, { signal });
        }
      };
      if (thoughts && onThought) await streamWords(thoughts, onThought);
      await streamWords(reply, onDelta);
      const promptTokens = estimateTokens(turns.map((t) => t.text).join(''));
      const outputTokens = estimateTokens(reply);
      const thoughtsTokens = estimateTokens(thoughts);
      return {
        finishReason: 'STOP',
        usage: { promptTokens, outputTokens, thoughtsTokens, cachedTokens: 0, totalTokens: promptTokens + outputTokens + thoughtsTokens },
        grounding: settings.grounding ? demoGrounding(reply) : null,
      };
    },
    // No model to ask: the first words of the prompt make the title.
    proposeTitle: ({ prompt }, maxChars) => Promise.resolve(tidyTitle(prompt.split(/\s+/).slice(0, 8).join(' '), maxChars)),
  };
}

/** `You attached 2 files: "cat.png" (image/png, 12 KiB), …. `, or nothing without files. */
function describeFiles(files: ModelFile[]): string {
  if (files.length === 0) return '';
  const each = files.map((file) => `"${file.name}" (${file.mimeType}, ${formatSize(file.sizeBytes)}${file.content ? '' : ', deleted by its owner'})`);
  return `You attached ${files.length} file${files.length === 1 ? '' : 's'}: ${each.join(', ')}. `;
}
