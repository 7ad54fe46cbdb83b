/**
 * The verdict on what a validating proxy found while the Postman collection ran through it
 * (scripts/postman-smoke.sh): Stoplight Prism in proxy mode compares every request and response with
 * the OpenAPI document and lists each mismatch in the response's `sl-violations` header, which
 * newman's JSON report keeps.
 *
 * A mismatch in a response is a divergence: the document says something the wire does not (an
 * undeclared status, media type, header or body shape). A mismatch in a request is one only if the
 * server accepted it (a 2xx or 3xx): the collection sends invalid requests on purpose to see them
 * refused, and a 4xx to a request the document forbids is the document and the wire agreeing.
 *
 * Usage: node scripts/wire-check.ts <newman-report.json>   (exit 1 on any divergence)
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface Violation {
  location: string[];
  severity: string;
  code?: string | number;
  message: string;
}

export interface Exchange {
  name: string;
  method: string;
  url: string;
  status: number;
  violations: Violation[];
}

/** Prism's `sl-violations` header: a JSON array, absent when the exchange matched the document. */
export function parseViolations(header: string | null | undefined): Violation[] {
  if (!header) return [];
  const parsed: unknown = JSON.parse(header);
  if (!Array.isArray(parsed)) throw new Error(`sl-violations is not a JSON array: ${header}`);
  return parsed as Violation[];
}

/** Whether a finding shows the document and the wire disagree (see the top of this file). */
export function isDivergence(violation: Violation, status: number): boolean {
  if (violation.location[0] === 'response') return true;
  return status < 400;
}

/** The divergences among the exchanges, one line each. */
export function divergencesIn(exchanges: Exchange[]): string[] {
  return exchanges.flatMap((exchange) =>
    exchange.violations
      .filter((violation) => isDivergence(violation, exchange.status))
      .map((violation) => `${exchange.method} ${exchange.url} → ${exchange.status} (${exchange.name}): ${violation.location.join('.')}: ${violation.message}`),
  );
}

interface NewmanReport {
  run: {
    executions: {
      item: { name: string };
      request: { method: string; url: { path?: string[]; query?: { key: string; value: string }[] } };
      response?: { code: number; header?: { key: string; value: string }[] };
    }[];
  };
}

export function exchangesOf(report: NewmanReport): Exchange[] {
  return report.run.executions.flatMap(({ item, request, response }) => {
    if (!response) return [];
    const header = response.header?.find(({ key }) => key.toLowerCase() === 'sl-violations')?.value;
    const query = (request.url.query ?? []).map(({ key, value }) => `${key}=${value}`).join('&');
    const url = `/${(request.url.path ?? []).join('/')}${query ? `?${query}` : ''}`;
    return [{ name: item.name, method: request.method, url, status: response.code, violations: parseViolations(header) }];
  });
}

function main(reportFile: string) {
  const exchanges = exchangesOf(JSON.parse(readFileSync(reportFile, 'utf8')) as NewmanReport);
  const findings = exchanges.reduce((count, exchange) => count + exchange.violations.length, 0);
  const divergences = divergencesIn(exchanges);
  for (const exchange of exchanges) {
    for (const violation of exchange.violations.filter((found) => !isDivergence(found, exchange.status))) {
      console.log(`  refused, as the document says: ${exchange.method} ${exchange.url} → ${exchange.status} (${exchange.name}): ${violation.location.join('.')}: ${violation.message}`);
    }
  }
  for (const line of divergences) console.log(`  DIVERGENCE ${line}`);
  console.log(
    `wire check: ${exchanges.length} exchanges compared with the OpenAPI document, ${findings} findings, ` +
      `${findings - divergences.length} of them invalid requests the server refused, ${divergences.length} divergences`,
  );
  // No exchange at all means nothing was checked: a run that proves nothing must not pass.
  if (exchanges.length === 0 || divergences.length > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const reportFile = process.argv[2];
  if (!reportFile) {
    console.error('usage: node scripts/wire-check.ts <newman-report.json>');
    process.exitCode = 2;
  } else main(reportFile);
}
