import { FileState, type File as GeminiFile, type GoogleGenAI } from '@google/genai';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelError, type ModelFile, type RemoteFile } from './model.js';

/** Gemini keeps an uploaded file 48 hours; used only if its answer leaves the expiry out. */
const FILES_API_RETENTION_MS = 48 * 3600_000;
const FIRST_POLL_DELAY_MS = 200;
const MAX_POLL_DELAY_MS = 2_000;

/**
 * Uploads one file to the Files API and waits until Gemini can use it (state ACTIVE), within `signal`.
 * SDK failures are thrown as they are (the caller maps them); a file Gemini could not process is
 * MODEL_REJECTED.
 */
export async function uploadToFilesApi(
  ai: GoogleGenAI,
  file: Pick<ModelFile, 'name' | 'mimeType'>,
  blob: Blob,
  signal: AbortSignal,
): Promise<RemoteFile> {
  // The SDK's upload ignores its abortSignal (3.3): the call stops waiting, the upload may run on.
  let uploaded = await untilAborted(
    ai.files.upload({ file: blob, config: { mimeType: file.mimeType, displayName: file.name, abortSignal: signal } }),
    signal,
  );
  for (let delayMs = FIRST_POLL_DELAY_MS; uploaded.state === FileState.PROCESSING; delayMs = Math.min(delayMs * 2, MAX_POLL_DELAY_MS)) {
    await sleep(delayMs, undefined, { signal });
    uploaded = await ai.files.get({ name: requireField(uploaded.name, 'name'), config: { abortSignal: signal } });
  }
  if (uploaded.state === FileState.FAILED) {
    throw new ModelError('MODEL_REJECTED', `Gemini could not process the file "${file.name}" (${file.mimeType})`);
  }
  return {
    uri: requireField(uploaded.uri, 'uri'),
    // The type we declared, which is what a later call compares (Gemini may spell it its own way).
    mimeType: file.mimeType,
    expiresAt: expiryOf(uploaded),
  };
}

function expiryOf(uploaded: GeminiFile): Date {
  const expiresAt = uploaded.expirationTime ? new Date(uploaded.expirationTime) : new Date(NaN);
  return Number.isNaN(expiresAt.getTime()) ? new Date(Date.now() + FILES_API_RETENTION_MS) : expiresAt;
}

function requireField(value: string | undefined, field: string): string {
  if (!value) throw new ModelError('MODEL_UNAVAILABLE', `Gemini answered a file upload without its ${field}`);
  return value;
}

/** `work`, or a rejection with the signal's reason once it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason as Error);
    // Handles the work's outcome even after we stopped waiting, so a late failure is not unhandled.
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
