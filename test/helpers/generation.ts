import { buildGenerationJob, type GenerationJobOptions } from '../../src/composition/worker.js';
import type { TestApp } from './app.js';

/**
 * The generation job as the worker builds it, on a test app's drivers, to run it by hand
 * (optionally on another reply stream). One attempt unless asked for more.
 */
export function jobOf(t: TestApp, options: GenerationJobOptions = {}) {
  const { container } = t;
  return buildGenerationJob(container.config, container.log, container, container, { maxAttempts: 1, ...options }).handler;
}
