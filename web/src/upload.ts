/**
 * One file to POST /files, through XMLHttpRequest: fetch reports no upload progress. The access
 * token goes with it, refreshed once on a 401, as the typed client does for every other call.
 */
import { accessToken, ApiError, renewSession } from './api';
import { uploadFailure } from './attachment-rules';
import type { StoredFile } from './contract';

export interface Upload {
  /** The stored file; rejects with an ApiError carrying the problem's words, or an AbortError. */
  done: Promise<StoredFile>;
  /** Stops sending (the file was removed from the prompt). */
  abort(): void;
}

interface Answer {
  status: number;
  text: string;
}

function post(file: File, token: string | undefined, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new DOMException('The upload was cancelled', 'AbortError'));
      return;
    }
    const request = new XMLHttpRequest();
    request.open('POST', '/files');
    if (token) request.setRequestHeader('authorization', `Bearer ${token}`);
    request.setRequestHeader('accept', 'application/json');
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () => resolve({ status: request.status, text: request.responseText }));
    // A server that refuses a large body early may close the connection under it: no status, then.
    request.addEventListener('error', () => resolve({ status: 0, text: '' }));
    request.addEventListener('abort', () => reject(new DOMException('The upload was cancelled', 'AbortError')));
    signal.addEventListener('abort', () => request.abort(), { once: true });
    const form = new FormData();
    form.append('file', file, file.name);
    request.send(form);
  });
}

export function uploadFile(file: File, onProgress: (fraction: number) => void): Upload {
  const cancel = new AbortController();
  const done = (async () => {
    let answer = await post(file, accessToken(), onProgress, cancel.signal);
    if (answer.status === 401 && accessToken()) {
      await renewSession();
      onProgress(0);
      answer = await post(file, accessToken(), onProgress, cancel.signal);
    }
    if (answer.status < 200 || answer.status >= 300) throw new ApiError({ status: answer.status, detail: uploadFailure(answer.status, answer.text) });
    return JSON.parse(answer.text) as StoredFile;
  })();
  return { done, abort: () => cancel.abort() };
}
