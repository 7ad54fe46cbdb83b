import type { GeminiOptions } from './gemini-model.js';
import type { ChatModel } from './model.js';

/**
 * The Gemini model with its SDK loaded on first use (or `warmUp`): an api process never calls the
 * model, and the SDK is tens of megabytes it would hold for nothing.
 */
export function lazyGeminiModel(options: GeminiOptions): ChatModel {
  let loading: Promise<ChatModel> | undefined;
  const load = () => (loading ??= import('./gemini-model.js').then(({ createGeminiModel }) => createGeminiModel(options)));
  return {
    name: options.model,
    generate: async (...args) => (await load()).generate(...args),
    proposeTitle: async (...args) => (await load()).proposeTitle(...args),
    warmUp: async () => void (await load()),
  };
}
