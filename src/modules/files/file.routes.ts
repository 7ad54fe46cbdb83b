import multipart, { type Multipart } from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../../config.js';
import { AppError, validationError } from '../../http/app-error.js';
import { noContent } from '../../http/pagination.js';
import { authOf, requireAuth, type Authenticator } from '../auth/auth-hook.js';
import { bearerAuth } from '../../http/openapi.js';
import { fileContentResponses, fileParams, filePageSchema, fileSchema, listFilesQuery, toFileDto, uploadBody } from './file.schemas.js';
import type { FileService } from './file.service.js';
import { sendFileContent } from './file-content.js';
import type { FileRow } from './file.repository.js';

type Deps = {
  sessions: Authenticator;
  files: FileService;
  maxUploadBytes: number;
  /** The app's log level (LOG_LEVEL). */
  logLevel: Config['LOG_LEVEL'];
};

const notOneFile = () => validationError('file', 'send one part, a file named `file`, and nothing else');

/**
 * The next part of a multipart body, or undefined at its end; the parser's own failures (no
 * boundary, a form cut short, more parts than an upload has) answered as the client's mistakes.
 */
async function nextPart(parts: AsyncIterator<Multipart>, maxUploadBytes: number): Promise<Multipart | undefined> {
  try {
    const next = await parts.next();
    return next.done ? undefined : next.value;
  } catch (error) {
    const { statusCode, code } = error as { statusCode?: number; code?: string };
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new AppError('PAYLOAD_TOO_LARGE', 413, `A file may be at most ${maxUploadBytes} bytes (MAX_UPLOAD_BYTES); nothing was kept`);
    }
    if (statusCode === 413) throw notOneFile();
    throw new AppError('MALFORMED_REQUEST', 400, 'The body is not valid multipart/form-data: send one part, a file named `file`', { cause: error });
  }
}

export const fileRoutes =
  ({ sessions, files, maxUploadBytes, logLevel }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    // Registered here, so multipart bodies are parsed on these routes only (elsewhere they stay 415).
    // One file part and nothing else (a second is read only far enough to refuse it). busboy stops
    // reading a file one byte past the limit: that byte reaches the upload's inspector, which refuses it.
    await app.register(multipart, { limits: { fileSize: maxUploadBytes + 1, files: 2, fields: 4, parts: 6, headerPairs: 50 } });
    app.addHook('onRequest', requireAuth(sessions));
    const tags = ['files'];
    const security = bearerAuth;

    app.post(
      '/files',
      {
        schema: {
          summary: 'Upload a file (multipart/form-data, one part named `file`); its type is recognised from the bytes',
          operationId: 'uploadFile',
          tags,
          security,
          consumes: ['multipart/form-data'],
          body: uploadBody,
          response: { 201: fileSchema },
        },
        // The schema describes the body for the document; the handler reads the stream itself.
        validatorCompiler: () => () => ({ value: undefined }),
        config: { problems: [413, 415], openapi: { responses: { 201: { description: 'The stored file', headers: ['Location'] } } } },
        // @fastify/multipart logs busboy's options at trace, the request's headers with them: the
        // bearer token would reach the log. This route logs at debug at most.
        logLevel: logLevel === 'trace' ? 'debug' : logLevel,
      },
      async (request, reply) => {
        if (!request.isMultipart()) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'POST /files takes multipart/form-data with one part, a file named `file`');
        }
        const user = authOf(request).user;
        // A client gone before the body was parsed (even before this handler ran) sends no part: the
        // wait for one ends with it, instead of lasting until the server's request timeout.
        const client = new AbortController();
        const leave = () => {
          if (!request.raw.complete) client.abort();
        };
        if (request.raw.destroyed) leave();
        else request.raw.once('close', leave);
        const cutOff = new Promise<never>((_, reject) => {
          const fail = () => reject(new AppError('MALFORMED_REQUEST', 400, 'The upload ended before the file did; nothing was kept'));
          if (client.signal.aborted) fail();
          else client.signal.addEventListener('abort', fail, { once: true });
        });
        cutOff.catch(() => undefined);
        /** The next part, or the client's leaving, whichever comes first (the loser's failure is not left unheard). */
        const nextOrCutOff = (parts: AsyncIterator<Multipart>) => {
          const next = nextPart(parts, maxUploadBytes);
          next.catch(() => undefined);
          return Promise.race([next, cutOff]);
        };
        let stored: FileRow | undefined;
        try {
          const parts = request.parts()[Symbol.asyncIterator]();
          const part = await nextOrCutOff(parts);
          if (!part) throw validationError('file', 'is required: send one part, a file named `file`');
          if (part.type !== 'file' || part.fieldname !== 'file') {
            throw validationError(part.fieldname, 'is not expected: send one part, a file named `file`');
          }
          // text/plain is what a part without a Content-Type defaults to (RFC 7578 §4.4, and busboy
          // fills it in): it says nothing, so it is no claim about the bytes.
          const declaredType = part.mimetype === 'text/plain' ? undefined : part.mimetype;
          stored = await files.upload(user, { stream: part.file, fileName: part.filename, declaredType, signal: client.signal });
          if (await nextOrCutOff(parts)) {
            throw validationError('file', 'one file per request: send each file in its own request');
          }
        } catch (error) {
          if (stored) await files.discard(stored);
          // Said once the upload is wholly undone (a client that hung up never reads the answer).
          request.log.info({ code: error instanceof AppError ? error.code : 'INTERNAL' }, 'upload refused; nothing of it was kept');
          throw error;
        }
        return reply.code(201).header('location', `/files/${stored.id}`).send(toFileDto(stored));
      },
    );

    app.get(
      '/files',
      {
        schema: {
          summary: "List the user's files, newest first (deleted ones are not listed)",
          operationId: 'listFiles',
          tags,
          security,
          querystring: listFilesQuery,
          response: { 200: filePageSchema },
        },
      },
      (request) => files.list(authOf(request).user.id, request.query.limit, request.query.cursor),
    );

    app.get(
      '/files/:id',
      {
        schema: {
          summary: "A file's metadata (a deleted file answers with deleted: true)",
          operationId: 'getFile',
          tags,
          security,
          params: fileParams,
          response: { 200: fileSchema },
        },
      },
      async (request) => toFileDto(await files.get(authOf(request).user.id, request.params.id)),
    );

    app.get(
      '/files/:id/content',
      {
        schema: {
          summary: "A file's bytes (Range requests answer 206)",
          operationId: 'getFileContent',
          tags,
          security,
          params: fileParams,
        },
        config: {
          problems: [416],
          openapi: { responses: fileContentResponses },
        },
      },
      async (request, reply) => {
        const file = await files.get(authOf(request).user.id, request.params.id);
        return sendFileContent(request, reply, files, file);
      },
    );

    app.delete(
      '/files/:id',
      {
        schema: {
          summary: "Delete a file's bytes now; messages that had it keep its metadata (deleted: true)",
          operationId: 'deleteFile',
          tags,
          security,
          params: fileParams,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await files.remove(authOf(request).user.id, request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
