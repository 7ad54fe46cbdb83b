import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, type FieldError } from './app-error.js';

export interface Problem {
  type: 'about:blank';
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  requestId: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemOf(request: FastifyRequest, error: AppError): Problem {
  return {
    ...error.options.extensions,
    type: 'about:blank',
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    code: error.code,
    detail: error.detail,
    requestId: request.id,
    ...(error.options.errors ? { errors: error.options.errors } : {}),
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  if (error.options.headers) void reply.headers(error.options.headers);
  return reply.code(error.status).type('application/problem+json').send(problemOf(request, error));
}

/** Fastify's own errors, by code, in the words of API.md. */
const fastifyErrors: Record<string, (error: FastifyError) => AppError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('INVALID_JSON', 400, 'The request body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new AppError('INVALID_JSON', 400, "The body is empty but Content-Type is 'application/json'"),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('PAYLOAD_TOO_LARGE', 413, 'The request body is larger than this server accepts'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'Send the body as application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new AppError('VALIDATION_FAILED', 400, 'Content-Length does not match the body'),
};

function toFieldErrors(error: FastifyError): FieldError[] {
  if (!hasZodFastifySchemaValidationErrors(error)) return [];
  return error.validation.map((issue) => ({
    path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.'),
    message: issue.message ?? 'is invalid',
  }));
}

// Network errors, and PostgreSQL's SQLSTATEs for a connection that failed, was shut down or timed out.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300|57014)$/;
// What pg, pg-pool and ioredis say, in words only, when a connection breaks or a command times out.
const UNREACHABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Command timed out|Stream isn't writeable|Connection is closed|Reached the max retries per request)/;

/** Whether the error, or any error it wraps (Drizzle wraps the driver's), says a dependency is unreachable. */
function isUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (UNREACHABLE_MESSAGE.test(current.message)) return true;
  }
  return false;
}

/** The problem an error is for the caller; undefined for an error of ours that has none (a 500). */
export function toAppError(error: FastifyError): AppError | undefined {
  if (error instanceof AppError) return error;
  if (isUnreachable(error)) {
    // The raw error (host, port, driver text) is logged by the handler; the caller gets a problem to retry on.
    return new AppError('SERVICE_UNAVAILABLE', 503, 'A service this request needs is not reachable right now; retry in a few seconds', {
      headers: { 'retry-after': '5' },
    });
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const errors = toFieldErrors(error);
    const where = error.validationContext ?? 'request';
    const summary = errors.map((e) => `${e.path || where}: ${e.message}`).join('; ');
    return new AppError('VALIDATION_FAILED', 400, `Invalid ${where}: ${summary}`, { errors });
  }
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new AppError('INVALID_JSON', 400, 'The request body is not valid JSON');
  }
  const known = fastifyErrors[error.code];
  if (known) return known(error);
  if (error.statusCode === 429) return new AppError('RATE_LIMITED', 429, 'Too many requests; slow down');
  return undefined;
}

/** Errors Fastify raises while routing, before any hook or handler (the `frameworkErrors` option). */
export function frameworkErrorProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const appError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('NOT_FOUND', 404, 'A path segment is longer than any id this API uses')
      : error.code === 'FST_ERR_BAD_URL'
        ? new AppError('VALIDATION_FAILED', 400, 'The URL is not validly percent-encoded')
        : new AppError('VALIDATION_FAILED', error.statusCode ?? 400, error.message);
  // Routing failed, so the app's hooks (which add this header and log the request) do not run.
  void reply.header('x-request-id', request.id);
  request.log.info({ code: error.code, method: request.method, status: appError.status }, 'request refused before routing');
  return sendProblem(request, reply, appError);
}

export function registerProblemHandlers(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    if (appError) {
      if (appError.status >= 500) request.log.error({ err: error }, appError.detail);
      return sendProblem(request, reply, appError);
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      // A client error Fastify raised that has no dedicated code: say what it is, keep the status.
      request.log.info({ err: error }, 'client error');
      return sendProblem(request, reply, new AppError('VALIDATION_FAILED', error.statusCode, error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, new AppError('INTERNAL', 500, 'Something went wrong on our side; the request id helps us find it'));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new AppError('NOT_FOUND', 404, `No route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
