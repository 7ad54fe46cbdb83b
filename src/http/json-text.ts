import type { FastifyReply } from 'fastify';

/**
 * Sends JSON that is already text (a cached page) as it is: Fastify serialises only what is not a
 * string, so the route's response schema documents the shape without being run over it again.
 */
export function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.header('content-type', 'application/json; charset=utf-8').send(json);
}

/** The same for JSON already encoded (a cached view kept as the bytes it is sent as). */
export function sendJsonBytes(reply: FastifyReply, json: Buffer): FastifyReply {
  return reply.header('content-type', 'application/json; charset=utf-8').send(json);
}
