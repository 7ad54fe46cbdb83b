import { setTimeout as sleep } from 'node:timers/promises';
import { tidyTitle, type ChatModel, type ChatTurn, type ModelOutcome } from './model.js';

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/**
 * Stands in for Gemini when GEMINI_API_KEY is unset, so the whole product runs with nothing
 * configured. It says plainly that it is offline, and streams word by word like the real thing.
 */
export function createOfflineModel({ delayMs = 15 }: { delayMs?: number } = {}): ChatModel {
  return {
    name: 'offline-stand-in',
    async generate(turns: ChatTurn[], onDelta, signal): Promise<ModelOutcome> {
      const prompt = turns.at(-1)?.text ?? '';
      const quoted = prompt.length > 200 ? `${prompt.slice(0, 200)}…` : prompt;
      const earlier = turns.length - 1;
      const reply =
        `[offline stand-in] Gemini is not configured on this server (GEMINI_API_KEY is unset), so this reply ` +
        `was generated locally. You said: "${quoted}". ` +
        `I was given ${earlier} earlier turn${earlier === 1 ? '' : 's'} of this chat as context.`;
      for (const word of reply.match(/\S+\s*/g) ?? []) {
        signal.throwIfAborted();
        await onDelta(word);
        if (delayMs > 0) await sleep(delayMs, undefined, { signal });
      }
      return {
        finishReason: 'STOP',
        usage: { promptTokens: estimateTokens(turns.map((t) => t.text).join('')), outputTokens: estimateTokens(reply) },
      };
    },
    // No model to ask: the first words of the prompt make the title.
    proposeTitle: ({ prompt }, maxChars) => Promise.resolve(tidyTitle(prompt.split(/\s+/).slice(0, 8).join(' '), maxChars)),
  };
}
