import { describe, expect, it } from 'vitest';
import { divergencesIn, exchangesOf, parseViolations } from '../../scripts/wire-check.js';

/** One newman execution as its JSON report keeps it, with Prism's findings in `sl-violations`. */
const execution = (name: string, method: string, path: string, code: number, violations?: unknown[]) => ({
  item: { name },
  request: { method, url: { path: path.split('/').filter(Boolean) } },
  response: { code, header: violations ? [{ key: 'sl-violations', value: JSON.stringify(violations) }] : [] },
});

const undeclaredStatus = { location: ['response'], severity: 'Warning', message: 'Unable to match the returned status code with those defined in the document: 200' };
const invalidBody = { location: ['request', 'body', 'settings', 'temperature'], severity: 'Error', message: 'must be <= 2' };

describe('the wire check of the Postman run', () => {
  it('reports every response finding, warnings included: the document says something the wire does not', () => {
    const exchanges = exchangesOf({ run: { executions: [execution('Create chatroom', 'POST', '/chatroom', 201, [undeclaredStatus])] } });
    expect(divergencesIn(exchanges)).toEqual([expect.stringContaining('POST /chatroom → 201 (Create chatroom): response: Unable to match the returned status code')]);
  });

  it('lets an invalid request through only when the server refused it', () => {
    const refused = execution('Invalid settings', 'PATCH', '/chatroom/1', 400, [invalidBody]);
    const accepted = execution('Invalid settings accepted', 'PATCH', '/chatroom/1', 200, [invalidBody]);
    expect(divergencesIn(exchangesOf({ run: { executions: [refused] } }))).toEqual([]);
    expect(divergencesIn(exchangesOf({ run: { executions: [accepted] } }))).toHaveLength(1);
  });

  it('finds nothing in an exchange without findings, and refuses a header that is not Prism\'s', () => {
    expect(divergencesIn(exchangesOf({ run: { executions: [execution('Me', 'GET', '/user/me', 200)] } }))).toEqual([]);
    expect(() => parseViolations('{"not":"a list"}')).toThrow(/not a JSON array/);
  });
});
