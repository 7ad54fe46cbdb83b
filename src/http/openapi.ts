import { STATUS_CODES } from 'node:http';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';

/*
 * The OpenAPI document (GET /openapi.json) is generated from the route schemas. Routes give their own
 * `summary`, `operationId` and `security`; this module adds what every route shares: the error
 * responses (RFC 9457 problems) a route can answer, by what the route takes, and the `servers`.
 * `npm run lint:openapi` holds the result to Redocly's recommended rules.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error statuses this route answers besides the ones every route of its shape has (OpenAPI only). */
    problems?: readonly number[];
  }
}

/** `security` of a route that needs `Authorization: Bearer <accessToken>`. */
export const bearerAuth = [{ bearerAuth: [] }];
/** `security` of a public route: stated, so the document says it on purpose. */
export const noAuth = [];

const problemRef = '#/components/schemas/Problem';

/** Registered by its id: the zod transform puts it in `components.schemas`, where the responses point. */
export const problemSchema = z
  .looseObject({
    type: z.literal('about:blank'),
    title: z.string().meta({ examples: ['Too Many Requests'] }),
    status: z.number().int().meta({ examples: [429] }),
    code: z.string().meta({ description: 'Stable, SCREAMING_SNAKE: clients branch on it, never on `detail`', examples: ['QUOTA_EXCEEDED'] }),
    detail: z.string(),
    requestId: z.string().meta({ description: 'Also in the X-Request-Id response header' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().meta({ description: 'Validation failures, one per field' }),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem (application/problem+json)' });

const problemResponse = (status: number) => ({
  description: STATUS_CODES[status] ?? 'Error',
  content: { 'application/problem+json': { schema: { $ref: problemRef } } },
});

type RouteSchema = Record<string, unknown> & { response?: Record<string, unknown> };
type TransformInput = Parameters<typeof jsonSchemaTransform>[0] & { route?: { config?: { problems?: readonly number[] } } };

/** The statuses a route can answer with a problem, by its shape: input, path ids, authentication. */
function problemStatuses(schema: RouteSchema, url: string, extra: readonly number[]): number[] {
  const statuses = new Set<number>(extra);
  if (schema.body || schema.querystring || schema.params || schema.headers) statuses.add(400);
  if (Array.isArray(schema.security) && schema.security.length > 0) statuses.add(401);
  if (url.includes(':')) statuses.add(404);
  statuses.add(500);
  return [...statuses].sort((a, b) => a - b);
}

export function openApiOptions(publicBaseUrl: string | undefined): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Gemini-style chat backend', version: '0.1.0', description: 'See README.md and shared API.md' },
      // A relative URL: the document describes whichever host serves it.
      servers: [{ url: publicBaseUrl ?? '/', description: 'this server' }],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform(input: TransformInput) {
      const transformed = jsonSchemaTransform(input) as { schema: RouteSchema; url: string };
      const { schema, url } = transformed;
      if (!schema || schema.hide) return transformed;
      // Without a response schema @fastify/swagger writes a default 200; with only problems it would not.
      const response: Record<string, unknown> = schema.response ? { ...schema.response } : { 200: { description: 'Default Response' } };
      for (const status of problemStatuses(input.schema as RouteSchema, url, input.route?.config?.problems ?? [])) {
        response[status] ??= problemResponse(status);
      }
      return { schema: { ...schema, response }, url };
    },
    // Zod registers an input and an output variant of every named schema; only the ones used stay.
    transformObject: (input) => withoutUnusedSchemas(jsonSchemaTransformObject(input)),
  };
}

type OpenApiDocument = { paths?: unknown; components?: { schemas?: Record<string, unknown> } };

function withoutUnusedSchemas<T extends object>(input: T): T {
  const document = input as OpenApiDocument;
  const schemas = document.components?.schemas;
  if (!schemas) return input;
  const used = new Set<string>();
  const pending = [JSON.stringify(document.paths)];
  while (pending.length > 0) {
    for (const [, name] of (pending.pop() ?? '').matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (name && !used.has(name) && schemas[name]) {
        used.add(name);
        pending.push(JSON.stringify(schemas[name]));
      }
    }
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...document, components: { ...document.components, schemas: kept } } as T;
}

type OperationNames = Record<string, { summary: string; operationId: string }>;

/**
 * An onRoute hook naming, in the document, routes declared in a module shared with a server that has
 * no document (the worker's probes). Keys are `METHOD /url`. Public routes: `security: []`.
 */
export function nameOperations(names: OperationNames) {
  return (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      const name = names[`${method} ${route.url}`];
      if (name) route.schema = { security: noAuth, ...route.schema, ...name };
    }
  };
}
