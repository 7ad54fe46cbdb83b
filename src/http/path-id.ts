import { z } from 'zod';

/**
 * An id in a path. Ids are opaque: a string that names nothing of the caller's is unknown, whatever
 * its length or form, and answers the route's 404 like any other unknown id (never a 400 that would
 * tell "malformed" from "not yours"). The URL's own limit (Node's 16 KiB of headers, with the app's
 * maxParamLength above it) bounds it.
 */
export const pathId = z.string().min(1).meta({ description: 'An id this API issued; any other string is unknown (404)' });

/** Above any segment a request line Node accepts can hold: every path id reaches its route (auth, logs, 404). */
export const MAX_PATH_SEGMENT_LENGTH = 16 * 1024;
