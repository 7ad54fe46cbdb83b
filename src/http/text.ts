import { z } from 'zod';

/**
 * A trimmed, bounded string that PostgreSQL can store: text columns refuse the NUL character, and
 * that must be the caller's 400, not our 500.
 */
export const storableText = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min, min === 1 ? 'must not be blank' : `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000'), 'must not contain the NUL character (\\u0000)');
