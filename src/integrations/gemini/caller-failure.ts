/**
 * A failure of the caller's own code (its delta callback, its file store) met during a model call.
 * It is passed on unchanged, never dressed up as a model error: a storage failure must not look like
 * Gemini being unreachable.
 */
export class CallerFailure extends Error {
  override name = 'CallerFailure';

  constructor(readonly failure: unknown) {
    super('the caller failed during a model call', { cause: failure });
  }
}

/** Runs the caller's `work`, marking its failure as the caller's. */
export async function asCaller<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new CallerFailure(error);
  }
}
