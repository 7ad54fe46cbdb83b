import { setTimeout as sleep } from 'node:timers/promises';
import { tidyTitle, type ChatModel, type ChatTurn, type ModelFile, type ModelOutcome } from './model.js';

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/**
 * Stands in for Gemini when GEMINI_API_KEY is unset, so the whole product runs with nothing
 * configured. It says plainly that it is offline, and streams word by word like the real thing.
 */
export function createOfflineModel({ delayMs = 15 }: { delayMs?: number } = {}): ChatModel {
  return {
    name: 'offline-stand-in',
    async generate(turns: ChatTurn[], onDelta, signal): Promise<ModelOutcome> {
      const newest = turns.at(-1);
      const prompt = newest?.text ?? '';
      const quoted = prompt.length > 200 ? `${prompt.slice(0, 200)}…` : prompt;
      const earlier = turns.length - 1;
      const reply =
        `[offline stand-in] Gemini is not configured on this server (GEMINI_API_KEY is unset), so this reply ` +
        `was generated locally. ${prompt === '' ? '' : `You said: "${quoted}". `}` +
        describeFiles(newest?.files ?? []) +
        `I was given ${earlier} earlier turn${earlier === 1 ? '' : 's'} of this chat as context.`;
      for (const word of reply.match(/\S+\s*/g) ?? []) {
        signal.throwIfAborted();
        await onDelta(word);
        if (delayMs > 0) await sleep(delayMs, undefined, { signal });
      }
      const promptTokens = estimateTokens(turns.map((t) => t.text).join(''));
      const outputTokens = estimateTokens(reply);
      return {
        finishReason: 'STOP',
        usage: { promptTokens, outputTokens, thoughtsTokens: 0, cachedTokens: 0, totalTokens: promptTokens + outputTokens },
      };
    },
    // No model to ask: the first words of the prompt make the title.
    proposeTitle: ({ prompt }, maxChars) => Promise.resolve(tidyTitle(prompt.split(/\s+/).slice(0, 8).join(' '), maxChars)),
  };
}

/** `You attached 2 files: "cat.png" (image/png, 12.3 KB), …. `, or nothing without files. */
function describeFiles(files: ModelFile[]): string {
  if (files.length === 0) return '';
  const each = files.map((file) => `"${file.name}" (${file.mimeType}, ${formatSize(file.sizeBytes)}${file.content ? '' : ', deleted by its owner'})`);
  return `You attached ${files.length} file${files.length === 1 ? '' : 's'}: ${each.join(', ')}. `;
}

const UNITS = ['KB', 'MB', 'GB'];

/** 512 B, 12.3 KB, 1.2 MB (powers of 1024, as the size limits are given). */
function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}
