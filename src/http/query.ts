import { z } from 'zod';

/**
 * A boolean query parameter. On the wire a query is text, `?wait=false`, as any OpenAPI client sends
 * a `type: boolean` parameter; the document says boolean (the meta stands in for the string enum
 * the validator checks), the handler gets a boolean, and anything but `true` or `false` is a 400.
 */
export const booleanQueryParam = (fallback: boolean, description: string) =>
  z
    .enum(['true', 'false'], { error: 'must be true or false' })
    // `enum: undefined` drops the string enum from the JSON Schema, `type` says what the text stands for.
    .meta({ type: 'boolean', enum: undefined } as Record<string, unknown>)
    .transform((value) => value === 'true')
    .default(fallback)
    .meta({ description, default: fallback });
