/**
 * Compiles src/ to dist/ (tsconfig.build.json) for `npm run build`, and so for every `npm start`.
 *
 * `tsc -b` decides from dist/.tsbuildinfo and the files' timestamps alone that nothing changed,
 * without parsing a source or a declaration file: under a second, where `tsc -p` takes many seconds
 * even with nothing to emit (it parses every dependency's types first). The
 * build info records what was emitted, not what is still on disk: a compiled file deleted since (by
 * hand, by a clean of part of dist/) would stay missing. So when any source's compiled file is
 * missing, the build info goes first and everything is compiled again. `rm -rf dist` takes the build
 * info with it (it lives in dist/), so a clean build is always a full one.
 *
 * Run by Node itself (type stripping, no tsx): it imports nothing but Node's own modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const projectDir = fileURLToPath(new URL('../', import.meta.url));
const buildInfo = `${projectDir}dist/.tsbuildinfo`;

/** src/a/b.ts -> dist/a/b.js (and its source map), as tsconfig.build.json lays them out. */
function missingOutputs(): string[] {
  const sources = readdirSync(`${projectDir}src`, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'));
  const outputs = sources.flatMap((path) => [`dist/${path.slice(0, -'.ts'.length)}.js`, `dist/${path.slice(0, -'.ts'.length)}.js.map`]);
  return outputs.filter((path) => !existsSync(`${projectDir}${path}`));
}

const missing = missingOutputs();
if (missing.length > 0 && existsSync(buildInfo)) {
  console.log(`dist/ lacks ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''}: compiling everything again`);
  rmSync(buildInfo);
}
try {
  execFileSync(`${projectDir}node_modules/.bin/tsc`, ['-b', `${projectDir}tsconfig.build.json`], { stdio: 'inherit' });
} catch {
  console.error('src/ does not compile (errors above)');
  process.exit(1);
}
