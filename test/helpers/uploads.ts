import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { bearer, type SignedInUser } from './factories.js';

export interface Part {
  /** The form field's name (`file` is the one the API takes). */
  field: string;
  /** A file part when set; a plain field otherwise. */
  fileName?: string;
  contentType?: string;
  body: Buffer | string;
}

export interface UploadedFile {
  id: string;
  name: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  deleted: boolean;
  createdAt: string;
}

/** A multipart/form-data body, written out byte by byte as a browser would. */
export function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----test${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.field}"${part.fileName === undefined ? '' : `; filename="${part.fileName}"`}`;
    const headers = [`Content-Disposition: ${disposition}`, ...(part.contentType ? [`Content-Type: ${part.contentType}`] : [])];
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`), Buffer.from(part.body), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export function upload(t: TestApp, user: SignedInUser, parts: Part[]) {
  const body = multipart(parts);
  return t.request({ method: 'POST', url: '/files', payload: body.payload, headers: { ...bearer(user.accessToken), ...body.headers } });
}

/** Uploads one file and expects it stored. */
export async function uploadFile(t: TestApp, user: SignedInUser, fileName: string, body: Buffer | string, contentType?: string): Promise<UploadedFile> {
  const res = await upload(t, user, [{ field: 'file', fileName, body, ...(contentType ? { contentType } : {}) }]);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<UploadedFile>();
}
