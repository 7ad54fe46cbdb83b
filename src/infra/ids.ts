import { z } from 'zod';

const uuid = z.uuid();

/** Ids are UUIDs; anything else cannot name a row (and must not reach a uuid column as a 500). */
export const isUuid = (value: string | null | undefined): value is string => uuid.safeParse(value).success;
