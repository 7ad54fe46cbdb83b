import type { FastifyError, FastifyRequest } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, validationError } from '../../src/http/app-error.js';
import { problemOf, toAppError } from '../../src/http/problem.js';

/*
 * Errors as the caller sees them (API.md "Errors"): an RFC 9457 problem with a stable code; an
 * unreachable dependency is a 503 to retry, never a raw driver message; a bug of ours has no problem
 * of its own (the handler answers 500 INTERNAL).
 */

const fastifyError = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields) as unknown as FastifyError;
const request = { id: 'req-42' } as FastifyRequest;

describe('the problem body', () => {
  it('has the RFC 9457 members, the code, the detail and the request id', () => {
    const problem = problemOf(request, new AppError('CHATROOM_NOT_FOUND', 404, "Chatroom 'x' was not found"));
    expect(problem).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      code: 'CHATROOM_NOT_FOUND',
      detail: "Chatroom 'x' was not found",
      requestId: 'req-42',
    });
  });

  it('lists the field errors of a validation failure', () => {
    const problem = problemOf(request, validationError('cursor', 'is not a cursor'));
    expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail: 'cursor: is not a cursor', errors: [{ path: 'cursor', message: 'is not a cursor' }] });
  });

  it('carries extensions, which can never overwrite the standard members', () => {
    const error = new AppError('REPLY_IN_PROGRESS', 409, 'A reply is being written', { extensions: { replyId: 'r1', status: 200, code: 'OK' } });
    expect(problemOf(request, error)).toMatchObject({ replyId: 'r1', status: 409, code: 'REPLY_IN_PROGRESS' });
  });

  it('has a generic title for a status HTTP does not name', () => {
    expect(problemOf(request, new AppError('INTERNAL', 599, 'odd')).title).toBe('Error');
  });
});

describe('mapping an error to a problem', () => {
  it('keeps an AppError as it is', () => {
    const error = new AppError('QUOTA_EXCEEDED', 429, 'Daily limit reached');
    expect(toAppError(error as unknown as FastifyError)).toBe(error);
  });

  it.each([
    ['a refused connection', fastifyError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['a DNS failure', fastifyError('getaddrinfo EAI_AGAIN db', { code: 'EAI_AGAIN' })],
    ['PostgreSQL connection failure (08006)', fastifyError('connection failure', { code: '08006' })],
    ['PostgreSQL shutting down (57P01)', fastifyError('terminating connection due to administrator command', { code: '57P01' })],
    ['too many connections (53300)', fastifyError('sorry, too many clients already', { code: '53300' })],
    ['a statement timeout (57014)', fastifyError('canceling statement due to statement timeout', { code: '57014' })],
    ['pg’s words for a broken connection', fastifyError('Connection terminated unexpectedly')],
    ['ioredis’s words for a timed-out command', fastifyError('Command timed out')],
    ['a driver error wrapped by the query builder', fastifyError('Failed query: select 1', { cause: fastifyError('read ECONNRESET', { code: 'ECONNRESET' }) })],
  ])('makes %s a 503 SERVICE_UNAVAILABLE to retry in 5 s, without the driver’s words', (_what, error) => {
    const mapped = toAppError(error);
    expect(mapped).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, options: { headers: { 'retry-after': '5' } } });
    expect(mapped?.detail).not.toMatch(/127\.0\.0\.1|ECONN|Failed query|statement/);
  });

  it('leaves other database errors to the 500 handler (a bug of ours, not an outage)', () => {
    expect(toAppError(fastifyError('duplicate key value violates unique constraint', { code: '23505' }))).toBeUndefined();
    expect(toAppError(fastifyError('x is not a function'))).toBeUndefined();
  });

  it.each([
    ['FST_ERR_CTP_INVALID_JSON_BODY', 'INVALID_JSON', 400],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 'INVALID_JSON', 400],
    ['FST_ERR_CTP_BODY_TOO_LARGE', 'PAYLOAD_TOO_LARGE', 413],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE', 415],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'VALIDATION_FAILED', 400],
  ])("turns Fastify's %s into %s %i", (code, expected, status) => {
    expect(toAppError(fastifyError('fastify said so', { code, statusCode: status }))).toMatchObject({ code: expected, status });
  });

  it('turns a body that is not JSON into 400 INVALID_JSON', () => {
    expect(toAppError(Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 }) as unknown as FastifyError)).toMatchObject({
      code: 'INVALID_JSON',
      status: 400,
    });
  });

  it('turns a rate limiter’s 429 into RATE_LIMITED', () => {
    expect(toAppError(fastifyError('Rate limit exceeded', { statusCode: 429, code: 'FST_ERR_RATE_LIMIT' }))).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
  });

  it('turns a schema failure into 400 VALIDATION_FAILED naming each field by its path', () => {
    const schema = z.object({ content: z.string().min(1), settings: z.object({ temperature: z.number().max(2) }) });
    const check = validatorCompiler({ schema, method: 'POST', url: '/chatroom/:id/message' });
    const { error: validation } = check({ content: '', settings: { temperature: 7 } }) as { error: unknown };
    const mapped = toAppError(fastifyError('body/content too short', { code: 'FST_ERR_VALIDATION', statusCode: 400, validation, validationContext: 'body' }));
    expect(mapped).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(mapped?.options.errors?.map((e) => e.path)).toEqual(['content', 'settings.temperature']);
    expect(mapped?.detail).toMatch(/^Invalid body: content: .+; settings\.temperature: .+/);
  });
});
