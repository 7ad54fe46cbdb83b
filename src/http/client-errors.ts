import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './app-error.js';
import { sendProblem } from './problem.js';

interface ConnectionError extends Error {
  code?: string;
}

function appErrorOf(error: ConnectionError): AppError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('REQUEST_TIMEOUT', 408, 'The request did not arrive in time');
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new AppError('HEADERS_TOO_LARGE', 431, 'The request headers are larger than this server accepts');
  }
  // HPE_INVALID_CONTENT_LENGTH, HPE_UNEXPECTED_CONTENT_LENGTH (both Content-Length and
  // Transfer-Encoding), HPE_INVALID_CHUNK_SIZE, …: the message is not valid HTTP/1.1.
  return new AppError('MALFORMED_REQUEST', 400, `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'})`);
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (Fastify's `clientErrorHandler`).
 * Fastify's default answers `{"error":"Bad Request",…}` as application/json; every error of this API
 * is an RFC 9457 problem, these included. The connection cannot be trusted after a parse error: close it.
 */
export const clientErrorProblem = (log: FastifyBaseLogger) => (error: ConnectionError, socket: Socket) => {
  // A reset connection has nobody left to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError = appErrorOf(error);
  const requestId = randomUUID();
  log.debug({ code: error.code, status: appError.status, requestId }, 'malformed HTTP request refused');
  if (socket.writable) {
    const body = JSON.stringify({
      type: 'about:blank',
      title: STATUS_CODES[appError.status] ?? 'Error',
      status: appError.status,
      code: appError.code,
      detail: appError.detail,
      requestId,
    });
    socket.write(
      `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status] ?? 'Error'}\r\n` +
        `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
};

/**
 * HTTP/1.1 requires Host (RFC 9112 §3.2). Node would refuse a request without one with an empty 400;
 * the server lets it through (`requireHostHeader: false`) so that this hook answers with a problem.
 */
export async function requireHostHeader(request: FastifyRequest, reply: FastifyReply) {
  if (request.raw.httpVersion === '1.1' && !request.headers.host) {
    await sendProblem(request, reply, new AppError('MALFORMED_REQUEST', 400, 'An HTTP/1.1 request must carry a Host header'));
  }
}
