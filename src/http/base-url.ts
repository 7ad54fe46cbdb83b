import type { FastifyRequest } from 'fastify';

/** This API's address as the caller reached it, unless PUBLIC_BASE_URL fixes it. */
export const baseUrlOf = (request: FastifyRequest, publicBaseUrl: string | undefined) =>
  (publicBaseUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');
