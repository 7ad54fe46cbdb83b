import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/*
 * Malformed HTTP/1.1 never reaches a route: Node's parser refuses it. These tests talk to a listening
 * server over raw TCP, the only way to send what an HTTP client library would refuse to write.
 */

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await startTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes the bytes as they are and reads until the server closes the connection. */
async function rawRequest(bytes: string): Promise<RawResponse> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(bytes);
  await once(socket, 'close');
  return parseResponse(Buffer.concat(chunks).toString('utf8'));
}

function parseResponse(text: string): RawResponse {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const at = line.indexOf(':');
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
    }),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

function expectProblem(res: RawResponse, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
}

const signup = '{"mobile":"+919876543210"}';

describe('errors of the HTTP parser are RFC 9457 problems', () => {
  it('control: a well-formed raw request reaches the route', async () => {
    const res = await rawRequest('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
  });

  it('a Content-Length that is not a number: 400 MALFORMED_REQUEST', async () => {
    const res = await rawRequest(`POST /auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n${signup}`);
    expectProblem(res, 400, 'MALFORMED_REQUEST');
  });

  it('both Content-Length and Transfer-Encoding (request smuggling shape): 400 MALFORMED_REQUEST', async () => {
    const res = await rawRequest(
      'POST /auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    expectProblem(res, 400, 'MALFORMED_REQUEST');
  });

  it('a chunk size that is not hexadecimal: 400 MALFORMED_REQUEST', async () => {
    const res = await rawRequest(
      'POST /auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    );
    expectProblem(res, 400, 'MALFORMED_REQUEST');
  });

  it('headers larger than the server accepts: 431 HEADERS_TOO_LARGE', async () => {
    const res = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectProblem(res, 431, 'HEADERS_TOO_LARGE');
  });

  it('an HTTP/1.1 request without Host: 400 MALFORMED_REQUEST', async () => {
    const res = await rawRequest('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    expectProblem(res, 400, 'MALFORMED_REQUEST');
  });

  it('a request that does not arrive in time: 408 REQUEST_TIMEOUT', async () => {
    // Node raises ERR_HTTP_REQUEST_TIMEOUT after requestTimeout (minutes): raise the same error on a live connection.
    const accepted = once(t.app.server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    const [serverSide] = await accepted;
    client.write('POST /auth/signup HTTP/1.1\r\nHost: localhost\r\n');
    t.app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), serverSide);
    await once(client, 'close');
    expectProblem(parseResponse(Buffer.concat(chunks).toString('utf8')), 408, 'REQUEST_TIMEOUT');
  });
});
