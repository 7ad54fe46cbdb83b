/**
 * `npm run lint:openapi`: builds the app as `npm start` would (embedded, never listening), writes the
 * OpenAPI document it serves at /openapi.json to a file, and lints that file with Redocly's
 * `recommended` rules as configured in redocly.yaml. Any error or warning fails the run.
 *
 * Usage: node --import tsx scripts/lint-openapi.ts [output-file]   (default: a temporary file)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblems, getTotals, lint, loadConfig as loadRedoclyConfig, type NormalizedProblem } from '@redocly/openapi-core';
import { openApiDocument } from '../web/build/openapi-document.js';


/**
 * Findings accepted on purpose, by rule and the operation they point at. The probes answer 200 or
 * 503 and nothing else: a 4xx response documented for them would be false.
 */
const accepted = [
  { rule: 'operation-4xx-response', pointer: '#/paths/~1healthz/get/responses' },
  { rule: 'operation-4xx-response', pointer: '#/paths/~1readyz/get/responses' },
];

const isAccepted = (problem: NormalizedProblem) =>
  accepted.some(({ rule, pointer }) => problem.ruleId === rule && problem.location.some((where) => where.pointer === pointer));

async function main() {
  const output = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), 'openapi-lint-')), 'openapi.json');
  writeFileSync(output, `${JSON.stringify(await openApiDocument(new URL('../', import.meta.url).pathname, 'src'), null, 2)}\n`);

  const config = await loadRedoclyConfig({ configPath: 'redocly.yaml' });
  const problems = (await lint({ ref: output, config })).filter((problem) => !isAccepted(problem));
  const totals = getTotals(problems);
  formatProblems(problems, { format: 'stylish', totals, maxProblems: 1000, version: 'openapi-core' });
  console.log(`${output}: ${totals.errors} errors, ${totals.warnings} warnings`);
  process.exitCode = totals.errors + totals.warnings > 0 ? 1 : 0;
}

await main();
