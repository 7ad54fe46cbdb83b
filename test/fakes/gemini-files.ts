/**
 * The Files API state of the fake Gemini (test/fakes/gemini-server.ts speaks the wire): resumable
 * uploads in progress, the files made, their processing state, and which files a request may name.
 */
import { createHash, randomBytes } from 'node:crypto';

export type FakeFileState = 'PROCESSING' | 'ACTIVE' | 'FAILED';

/** An upload the fake finished, as the SDK sent it. */
export interface RecordedUpload {
  name: string; // 'files/<id>'
  uri: string; // '<fake.url>/v1beta/files/<id>'
  displayName: string | undefined;
  mimeType: string;
  sizeBytes: number; // bytes received
  sha256: string; // hex, of the bytes received
  /** GET /v1beta/files/<id> answered so far (a client waiting for ACTIVE polls). */
  gets: number;
}

/** How files uploaded from now on are processed. */
export interface FileProcessing {
  /** The file answers PROCESSING to this many GETs (its upload answer says PROCESSING too) before its final state. */
  processingGets?: number;
  finalState?: 'ACTIVE' | 'FAILED';
}

/** The File resource, as Gemini answers it (the upload's `{ file }` and GET /files/<id>). */
export interface FakeFileResource {
  name: string;
  displayName?: string;
  mimeType: string;
  sizeBytes: string;
  createTime: string;
  updateTime: string;
  expirationTime: string;
  sha256Hash: string; // base64, as Gemini gives it
  uri: string;
  state: FakeFileState;
  source: 'UPLOADED';
  error?: { code: number; message: string };
}

export interface FileRefusal {
  status: number;
  statusName: string;
  message: string;
}

/** Gemini keeps an uploaded file this long. */
const RETENTION_MS = 48 * 3600_000;

interface PendingUpload {
  displayName: string | undefined;
  mimeType: string;
  declaredBytes: number;
  chunks: Buffer[];
  received: number;
}

interface StoredFile {
  resource: FakeFileResource;
  recorded: RecordedUpload;
  processingGetsLeft: number;
  finalState: 'ACTIVE' | 'FAILED';
}

export function createFakeFilesApi(baseUrl: string) {
  const pending = new Map<string, PendingUpload>();
  const files = new Map<string, StoredFile>(); // by id
  const uploads: RecordedUpload[] = [];
  let processing: Required<FileProcessing> = { processingGets: 0, finalState: 'ACTIVE' };

  const idOfUri = (uri: string): string | undefined => {
    const prefix = `${baseUrl}/v1beta/files/`;
    return uri.startsWith(prefix) ? uri.slice(prefix.length) : undefined;
  };

  /** The state a GET (or a generate request) sees now; a GET moves a processing file on. */
  const settle = (file: StoredFile): void => {
    if (file.processingGetsLeft > 0) return;
    file.resource.state = file.finalState;
    if (file.finalState === 'FAILED') file.resource.error = { code: 3, message: 'The file could not be processed.' };
  };

  return {
    baseUrl,
    uploads,

    /** A resumable upload starts; the answer is its id, for the upload URL. */
    start(declared: { displayName: string | undefined; mimeType: string; declaredBytes: number }): string {
      const id = randomBytes(8).toString('hex');
      pending.set(id, { ...declared, chunks: [], received: 0 });
      return id;
    },

    /**
     * A chunk at `offset`; with `finalize`, the upload ends and the File is made. Returns the File when
     * finalized, null when more is expected, or a refusal.
     */
    chunk(uploadId: string, offset: number, bytes: Buffer, finalize: boolean): FakeFileResource | null | FileRefusal {
      const upload = pending.get(uploadId);
      if (!upload) return { status: 404, statusName: 'NOT_FOUND', message: `No upload ${uploadId}` };
      if (offset !== upload.received) {
        return { status: 400, statusName: 'INVALID_ARGUMENT', message: `Offset ${offset} but ${upload.received} bytes received` };
      }
      upload.chunks.push(bytes);
      upload.received += bytes.length;
      if (!finalize) return null;
      pending.delete(uploadId);
      if (upload.received !== upload.declaredBytes) {
        return { status: 400, statusName: 'INVALID_ARGUMENT', message: `Declared ${upload.declaredBytes} bytes, received ${upload.received}` };
      }
      const body = Buffer.concat(upload.chunks);
      const id = randomBytes(6).toString('hex');
      const now = new Date();
      const uri = `${baseUrl}/v1beta/files/${id}`;
      const stillProcessing = processing.processingGets > 0 || processing.finalState === 'FAILED';
      const resource: FakeFileResource = {
        name: `files/${id}`,
        ...(upload.displayName === undefined ? {} : { displayName: upload.displayName }),
        mimeType: upload.mimeType,
        sizeBytes: String(body.length),
        createTime: now.toISOString(),
        updateTime: now.toISOString(),
        expirationTime: new Date(now.getTime() + RETENTION_MS).toISOString(),
        sha256Hash: createHash('sha256').update(body).digest('base64'),
        uri,
        state: stillProcessing ? 'PROCESSING' : 'ACTIVE',
        source: 'UPLOADED',
      };
      const recorded: RecordedUpload = {
        name: resource.name,
        uri,
        displayName: upload.displayName,
        mimeType: upload.mimeType,
        sizeBytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        gets: 0,
      };
      uploads.push(recorded);
      files.set(id, { resource, recorded, processingGetsLeft: processing.processingGets, finalState: processing.finalState });
      return resource;
    },

    /** GET /v1beta/files/<id>. */
    get(id: string): FakeFileResource | FileRefusal {
      const file = files.get(id);
      if (!file) return notFound(id);
      file.recorded.gets += 1;
      if (file.processingGetsLeft > 0) file.processingGetsLeft -= 1;
      else settle(file);
      return file.resource;
    },

    /** Why Gemini would refuse a request naming `fileUri`, or undefined when it may. */
    refusalFor(fileUri: string): FileRefusal | undefined {
      const id = idOfUri(fileUri) ?? fileUri;
      const file = files.get(id);
      if (!file) return notFound(id);
      if (file.resource.state !== 'ACTIVE') {
        return {
          status: 400,
          statusName: 'FAILED_PRECONDITION',
          message: `The File ${id} is not in an ACTIVE state and usage is not allowed.`,
        };
      }
      return undefined;
    },

    /** The file expires or is deleted on Gemini's side: from now on, naming it is refused. */
    forget(uri: string): void {
      const id = idOfUri(uri);
      if (id === undefined || !files.delete(id)) throw new Error(`The fake Gemini has no file ${uri}`);
    },

    setProcessing(next: FileProcessing): void {
      processing = { processingGets: next.processingGets ?? 0, finalState: next.finalState ?? 'ACTIVE' };
    },

    reset(): void {
      pending.clear();
      files.clear();
      uploads.length = 0; // keep the array identity: tests may hold `fake.uploads`
      processing = { processingGets: 0, finalState: 'ACTIVE' };
    },
  };
}

export type FakeFilesApi = ReturnType<typeof createFakeFilesApi>;

export const isRefusal = (value: unknown): value is FileRefusal =>
  typeof value === 'object' && value !== null && 'status' in value && 'statusName' in value;

// What Gemini answers for a file that expired, was deleted, or belongs to another project.
const notFound = (id: string): FileRefusal => ({
  status: 403,
  statusName: 'PERMISSION_DENIED',
  message: `You do not have permission to access the File ${id} or it may not exist.`,
});
