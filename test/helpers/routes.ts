import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  /** Fastify's form: `/chatroom/:id/messages/:messageId`. */
  path: string;
}

/**
 * Every route the app serves, read from Fastify's own router (`printRoutes`), so that a route added
 * anywhere (hidden from the OpenAPI document or not) is in the list. The tree prints one node per
 * line; a node's path is its ancestors' segments joined, and its methods are in parentheses.
 */
export function routesOf(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const branch = line.search(/[├└]── /);
    if (branch < 0) continue;
    const depth = branch / 4;
    const match = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(branch + 4));
    if (!match) continue;
    stack.length = depth;
    // Routes naming one position's parameter differently (`:messageId`, `:replyId`) share a node printed `:messageId|:replyId`.
    stack.push((match[1] ?? '').replace(/(:[A-Za-z]+)(?:\|:[A-Za-z]+)+/g, '$1'));
    const path = stack.join('').replace(/^\/\//, '/');
    for (const method of (match[2] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) routes.push({ method, path });
  }
  return routes;
}
