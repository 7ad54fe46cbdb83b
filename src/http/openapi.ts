import { STATUS_CODES } from 'node:http';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';

/*
 * The OpenAPI document (GET /openapi.json) is generated from the route schemas, and must be true to
 * the wire (API.md "Operations"): CI sends the Postman collection through a validating proxy that
 * compares every answer with it (scripts/postman-smoke.sh). Routes give their own `summary`,
 * `operationId`, `security` and zod schemas; what the zod schemas cannot say (an event stream, a page,
 * a file's bytes, response headers, a raw request body) they say in `config.openapi`. This module adds
 * what every route shares, by its shape: the problems it can answer, X-Request-Id on every response,
 * Retry-After and the RateLimit fields where they are sent. `npm run lint:openapi` holds the result
 * to Redocly's recommended rules.
 */

/** A JSON Schema or OpenAPI object written out by hand (no zod shape exists for it). */
type JsonObject = Record<string, unknown>;

/** Response headers clients read; declared once in `components.headers`. */
export const responseHeaders = {
  'X-Request-Id': {
    description: "This request's id (the caller's own X-Request-Id when it is sane); also `requestId` in problems. Quote it when reporting an issue.",
    schema: { type: 'string' },
  },
  Location: { description: 'Where the created or pending resource is', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  RateLimit: {
    description: 'The limit that applies, as `"<policy>";r=<remaining>;t=<seconds to reset>` (draft-ietf-httpapi-ratelimit-headers)',
    schema: { type: 'string', examples: ['"daily";r=4;t=43200'] },
  },
  'RateLimit-Policy': {
    description: 'The policy that applies, as `"<policy>";q=<quota>;w=<window in seconds>` (draft-ietf-httpapi-ratelimit-headers)',
    schema: { type: 'string', examples: ['"daily";q=5;w=86400'] },
  },
  'X-Cache': { description: 'HIT when the answer came from a cache (per user for the chatroom list, per share for a share)', schema: { type: 'string', enum: ['HIT', 'MISS'] } },
  'Cache-Control': { description: 'Whether and how long browsers and proxies may keep the answer', schema: { type: 'string', examples: ['public, max-age=60', 'no-cache'] } },
  'X-Robots-Tag': { description: 'Search engines are asked not to index the answer or follow its links', schema: { type: 'string', enum: ['noindex, nofollow'] } },
  'Content-Disposition': { description: '`attachment` (or `inline` for images) with the file name', schema: { type: 'string' } },
  ETag: { description: "The bytes' SHA-256, quoted", schema: { type: 'string' } },
  'Accept-Ranges': { description: 'Range requests are answered (206)', schema: { type: 'string', enum: ['bytes'] } },
  'Content-Range': { description: 'The bytes sent (`bytes <first>-<last>/<size>`), or the size of a range that cannot be met (`bytes */<size>`)', schema: { type: 'string' } },
} as const;

export type ResponseHeader = keyof typeof responseHeaders;

/** One response of a route, beyond (or describing) its zod response schema. */
export interface ResponseWire {
  description?: string;
  /** Headers this response may carry (X-Request-Id is on every response without saying so). */
  headers?: readonly ResponseHeader[];
  /** Media types it is sent as besides the zod schema's application/json, each with its schema. */
  content?: Record<string, { schema: z.ZodType | JsonObject }>;
}

/** What a route sends and takes on the wire that its zod schemas do not say (the document only). */
export interface OperationWire {
  responses?: Record<number, ResponseWire>;
  /** Every answer carries the RateLimit header fields (a per-address, per-user or daily limit). */
  rateLimited?: boolean;
  /** Headers every answer of the route carries, its problems too. */
  everyAnswerCarries?: readonly ResponseHeader[];
  /** The route reaches no database or Redis (no 503). */
  needsNoStore?: boolean;
  /** Statuses the route's shape suggests but it never answers (a route that takes any body is never 415). */
  never?: readonly number[];
  /** The request body as sent, when the route reads it itself (an OpenAPI Request Body Object). */
  requestBody?: JsonObject;
  /** Other media types the JSON body may come as, with the same fields (an HTML form). */
  alsoConsumes?: readonly string[];
  /** Parameters the route reads itself (an OpenAPI Parameter Object each). */
  parameters?: readonly JsonObject[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error statuses this route answers besides the ones every route of its shape has (OpenAPI only). */
    problems?: readonly number[];
    /** What the route sends and takes besides its zod schemas (OpenAPI only). */
    openapi?: OperationWire;
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

/** What each problem status means, whatever the route; `code` in the body says exactly which. */
const problemDescriptions: Record<number, string> = {
  400: 'The request is invalid: `VALIDATION_FAILED` (with `errors` naming each field), `INVALID_JSON` or `MALFORMED_REQUEST`',
  401: 'No valid access token (`UNAUTHORIZED`), or credentials that do not match',
  403: 'Not allowed for this caller',
  404: 'Not found, or not the caller\'s (`code` names what, e.g. `CHATROOM_NOT_FOUND`)',
  409: 'In a state that does not allow this now',
  413: 'The body is larger than this route accepts (`PAYLOAD_TOO_LARGE`), or a quota would be exceeded',
  415: 'The body is not of a media type this route takes (`UNSUPPORTED_MEDIA_TYPE`)',
  416: 'The Range cannot be met (`RANGE_NOT_SATISFIABLE`; Content-Range gives the size)',
  422: 'The Idempotency-Key was already used for a different request (`IDEMPOTENCY_KEY_REUSED`)',
  429: 'Too many requests (`RATE_LIMITED`, `TOO_MANY_STREAMS`, …) or the daily allowance is spent (`QUOTA_EXCEEDED`); Retry-After says when to try again',
  500: 'Something failed on our side (`INTERNAL`); X-Request-Id helps find it',
  502: 'A provider this request needs (the model, Stripe) failed',
  503: 'A service this request needs is unreachable right now (`SERVICE_UNAVAILABLE`); retry after Retry-After',
};

const problemResponse = (status: number, description?: string) => ({
  description: description ?? problemDescriptions[status] ?? STATUS_CODES[status] ?? 'Error',
  content: { 'application/problem+json': { schema: { $ref: problemRef } } },
});

type RouteSchema = Record<string, unknown> & { response?: Record<string, unknown> };
type TransformInput = Parameters<typeof jsonSchemaTransform>[0] & {
  route?: { method?: string | string[]; config?: { problems?: readonly number[]; openapi?: OperationWire } };
};

/** Fastify parses a request body on these methods: any of them can meet a body it refuses. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The statuses a route can answer with a problem, by its shape: input, body, path ids, authentication, storage. */
function problemStatuses(schema: RouteSchema, url: string, methods: string[], config: { problems?: readonly number[]; openapi?: OperationWire }): number[] {
  const wire = config.openapi ?? {};
  const statuses = new Set<number>(config.problems);
  const takesBody = methods.some((method) => BODY_METHODS.has(method));
  if (schema.body || schema.querystring || schema.params || schema.headers || takesBody) statuses.add(400);
  if (takesBody) [413, 415].forEach((status) => statuses.add(status));
  if (Array.isArray(schema.security) && schema.security.length > 0) statuses.add(401);
  if (url.includes(':')) statuses.add(404);
  if (wire.rateLimited) statuses.add(429);
  if (!wire.needsNoStore) statuses.add(503);
  statuses.add(500);
  for (const status of wire.never ?? []) statuses.delete(status);
  return [...statuses].sort((a, b) => a - b);
}

const isZod = (schema: unknown): schema is z.ZodType => schema instanceof z.ZodType;

/** What to call a success response that has no description of its own: its schema's, or its component's name. */
function describeSuccess(status: number, schema: JsonObject | undefined): string {
  if (typeof schema?.description === 'string') return schema.description;
  const ref = typeof schema?.$ref === 'string' ? schema.$ref.split('/').at(-1) : undefined;
  return ref ? `${STATUS_CODES[status] ?? 'Success'}: the ${ref}` : (STATUS_CODES[status] ?? 'Success');
}

/** What transformObject adds once the operation exists (headers by reference, request bodies, parameters). */
interface Finishing {
  wire: OperationWire;
  optionalBody: boolean;
}

export function openApiOptions(publicBaseUrl: string | undefined): FastifyDynamicSwaggerOptions {
  const finishing = new Map<string, Finishing>();

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
      const config = input.route?.config ?? {};
      const wire = config.openapi ?? {};
      const methods = [input.route?.method ?? []].flat();
      /** A zod schema as the document has it: a `$ref` when it has an id, else inline. */
      const toJson = (source: z.ZodType | JsonObject): JsonObject =>
        isZod(source) ? ((jsonSchemaTransform({ ...input, schema: { response: { 200: source } } }) as unknown as { schema: RouteSchema }).schema.response?.[200] as JsonObject) : source;

      const response: Record<string, unknown> = {};
      const statuses = new Set([...Object.keys(schema.response ?? {}), ...Object.keys(wire.responses ?? {})].map(Number));
      for (const status of [...statuses].sort((a, b) => a - b)) {
        const json = schema.response?.[status] as JsonObject | undefined;
        const extra = wire.responses?.[status] ?? {};
        // An error status with nothing but a description and headers is a problem, added below.
        if (status >= 400 && !json && !extra.content) continue;
        // A zod response is a schema (sent as JSON), or `{ content: { <media type>: { schema } } }` already converted.
        const byMediaType = json && typeof json.content === 'object' ? (json.content as Record<string, JsonObject>) : undefined;
        const content: Record<string, JsonObject> = byMediaType ? { ...byMediaType } : {};
        if (json && !byMediaType && json.type !== 'null') content['application/json'] = { schema: json };
        for (const [mediaType, { schema: source }] of Object.entries(extra.content ?? {})) {
          // A hand-written schema may hold zod schemas one level down (an event stream's contentSchema).
          const schemaJson = isZod(source) ? toJson(source) : Object.fromEntries(Object.entries(source).map(([key, value]) => [key, isZod(value) ? toJson(value) : value]));
          content[mediaType] = { schema: schemaJson };
        }
        const ownDescription = byMediaType && typeof json?.description === 'string' ? json.description : undefined;
        const description = extra.description ?? ownDescription ?? describeSuccess(status, (byMediaType?.['application/json']?.schema as JsonObject | undefined) ?? json);
        // `type: 'null'` is how @fastify/swagger knows a response has no body (a 204).
        response[status] = Object.keys(content).length > 0 ? { description, content } : { type: 'null', description };
      }
      const declaredErrors = Object.keys(wire.responses ?? {}).map(Number).filter((status) => status >= 400);
      for (const status of [...new Set([...problemStatuses(input.schema as RouteSchema, url, methods, config), ...declaredErrors])].sort((a, b) => a - b)) {
        response[status] ??= problemResponse(status, wire.responses?.[status]?.description);
      }

      const body = (input.schema as RouteSchema).body;
      const optionalBody = isZod(body) && body.safeParse(undefined).success;
      if (typeof schema.operationId === 'string') finishing.set(schema.operationId, { wire, optionalBody });
      return { schema: { ...schema, response }, url };
    },
    // Zod registers an input and an output variant of every named schema; only the ones used stay.
    transformObject: (input) => finish(withoutUnusedSchemas(jsonSchemaTransformObject(input)), finishing),
  };
}

type Operation = {
  operationId?: string;
  requestBody?: { required?: boolean; content?: Record<string, unknown> };
  parameters?: unknown[];
  responses?: Record<string, { headers?: Record<string, unknown> }>;
};
type OpenApiDocument = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; headers?: Record<string, unknown> };
};

const headerRef = (name: ResponseHeader) => ({ $ref: `#/components/headers/${name}` });

/** The headers each response of an operation may carry, by status. */
function headersOf(status: number, wire: OperationWire): ResponseHeader[] {
  const names = new Set<ResponseHeader>(['X-Request-Id', ...(wire.everyAnswerCarries ?? []), ...(wire.responses?.[status]?.headers ?? [])]);
  if (status === 429 || status === 503) names.add('Retry-After');
  if (wire.rateLimited) ['RateLimit', 'RateLimit-Policy'].forEach((name) => names.add(name as ResponseHeader));
  return [...names];
}

/** Headers by reference, and request bodies and parameters the routes read themselves. */
function finish<T extends object>(input: T, finishing: Map<string, Finishing>): T {
  const document = input as OpenApiDocument;
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const { wire, optionalBody } = finishing.get(operation.operationId ?? '') ?? { wire: {}, optionalBody: false };
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        response.headers = Object.fromEntries(headersOf(Number(status), wire).map((name) => [name, headerRef(name)]));
      }
      if (wire.requestBody) operation.requestBody = wire.requestBody;
      if (operation.requestBody && optionalBody) operation.requestBody.required = false;
      const json = operation.requestBody?.content?.['application/json'];
      for (const mediaType of wire.alsoConsumes ?? []) {
        if (operation.requestBody?.content && json) operation.requestBody.content[mediaType] = json;
      }
      if (wire.parameters) operation.parameters = [...(operation.parameters ?? []), ...wire.parameters];
    }
  }
  return { ...document, components: { ...document.components, headers: responseHeaders } } as T;
}

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

/** Each event of a Server-Sent Events stream: its name and the JSON its `data:` line carries. */
export type StreamEvents = Record<string, z.ZodType>;

/**
 * A `text/event-stream` response's media type. The stream is text (what a validator compares with the
 * wire); JSON Schema's `contentSchema` describes what the text holds, one event at a time: each
 * `{ id, event, data }`, with the schema of `data` (the JSON of its `data:` line) by event name.
 */
export function eventStreamMedia(events: z.ZodType, names: readonly string[]) {
  return {
    schema: {
      type: 'string',
      contentMediaType: 'text/event-stream',
      contentSchema: events,
      description: `Server-Sent Events, each with an \`id:\` (send it back as Last-Event-ID to resume), an \`event:\` (${names.map((name) => `\`${name}\``).join(', ')}) and one \`data:\` line of JSON, as contentSchema describes each event; \`: keep-alive\` comment lines while idle.`,
    },
  };
}

type OperationNames = Record<string, { summary: string; operationId: string; response?: Record<number, z.ZodType>; openapi?: OperationWire }>;

/**
 * An onRoute hook naming, in the document, routes declared in a module shared with a server that has
 * no document (the worker's probes). Keys are `METHOD /url`. Public routes: `security: []`.
 */
export function nameOperations(names: OperationNames) {
  return (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      const name = names[`${method} ${route.url}`];
      if (!name) continue;
      const { openapi, ...schema } = name;
      route.schema = { security: noAuth, ...route.schema, ...schema };
      if (openapi) route.config = { ...route.config, openapi };
    }
  };
}
