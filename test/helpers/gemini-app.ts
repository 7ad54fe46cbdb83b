import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-server.js';
import { startTestApp, type TestApp } from './app.js';

export interface GeminiApp {
  gemini: FakeGemini;
  t: TestApp;
  /** The app's address when it listens (`listen: true`): for streams read over a real socket. */
  base: string;
}

/**
 * For a test file (or a describe): the fake Gemini and an app that talks to it with the real SDK
 * (`env` added), started once and closed after; the fake's script and records emptied before each
 * test. The returned object is filled in by `beforeAll`.
 */
export function withGeminiApp(env: Record<string, string>, { listen = false }: { listen?: boolean } = {}): GeminiApp {
  const started = {} as GeminiApp;
  beforeAll(async () => {
    started.gemini = await startFakeGemini();
    started.t = await startTestApp({ env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: started.gemini.url, ...env } });
    if (listen) started.base = await started.t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await started.t?.close();
    await started.gemini?.close();
  });
  beforeEach(() => started.gemini.reset());
  return started;
}
