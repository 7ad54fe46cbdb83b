import fc, { type Arbitrary } from 'fast-check';

/** The subset of JSON Schema the OpenAPI document of this app uses. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
  pattern?: string;
  default?: unknown;
}

/** Strings that have broken parsers, databases and loggers before. */
export const hostileStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uFFFF',
  '\u202Eevil',
  '😀'.repeat(50),
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '../../../etc/passwd',
  '%00',
  '%E0%A4%A',
  '\r\nX-Injected: 1',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0000-01-01T00:00:00Z',
  '+999999-12-31T00:00:00Z',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '__proto__',
  'constructor',
];

export const hostileString = (): Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...hostileStrings) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 5000, maxLength: 9000 }) },
  );

const resolve = (schema: JsonSchema, root: Record<string, JsonSchema>): JsonSchema => {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split('/').at(-1) ?? '';
  return root[name] ?? {};
};

function stringArbitrary(schema: JsonSchema): Arbitrary<string> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.pattern === '^\\d{6}$' || schema.pattern?.includes('\\d{6}')) return fc.stringMatching(/^\d{6}$/);
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 64, 300);
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

/**
 * Values that fit the schema most of the time and break it on purpose the rest: hostile strings,
 * wrong types, out-of-range numbers, missing and extra properties.
 */
export function arbitraryFor(schema: JsonSchema, root: Record<string, JsonSchema>, depth = 0): Arbitrary<unknown> {
  const s = resolve(schema, root);
  const wrong = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), hostileString(), fc.constant([]), fc.constant({}));
  const fitting = fittingArbitrary(s, root, depth);
  return fc.oneof({ weight: 6, arbitrary: fitting }, { weight: 1, arbitrary: wrong });
}

function fittingArbitrary(s: JsonSchema, root: Record<string, JsonSchema>, depth: number): Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const options = s.anyOf ?? s.oneOf;
  if (options && options.length > 0) return fc.oneof(...options.map((option) => arbitraryFor(option, root, depth + 1)));
  if (s.allOf && s.allOf.length > 0) return arbitraryFor(s.allOf[0] ?? {}, root, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return fc.oneof({ weight: 4, arbitrary: stringArbitrary(s) }, { weight: 1, arbitrary: hostileString() });
    case 'integer':
    case 'number': {
      const min = s.minimum ?? s.exclusiveMinimum ?? -1e6;
      const max = s.maximum ?? s.exclusiveMaximum ?? 1e6;
      const inRange = type === 'integer' ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true });
      return fc.oneof({ weight: 4, arbitrary: inRange }, { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1, 1e308, -0, 0.5) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return depth > 4 ? fc.constant([]) : fc.array(arbitraryFor(s.items ?? {}, root, depth + 1), { maxLength: 5 });
    case 'object': {
      if (depth > 4) return fc.constant({});
      const properties = Object.entries(s.properties ?? {});
      const required = new Set(s.required ?? []);
      const shape = Object.fromEntries(properties.map(([key, value]) => [key, arbitraryFor(value, root, depth + 1)]));
      const record = fc.record(shape, { requiredKeys: properties.map(([key]) => key).filter((key) => required.has(key)) });
      // Sometimes a required key is missing, sometimes there is one nobody asked for.
      return fc.oneof(
        { weight: 5, arbitrary: record },
        { weight: 1, arbitrary: fc.record(shape, { requiredKeys: [] }) },
        { weight: 1, arbitrary: fc.tuple(record, fc.string({ maxLength: 10 }), fc.jsonValue()).map(([value, key, extra]) => ({ ...(value as object), [key]: extra })) },
      );
    }
    case undefined:
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}
