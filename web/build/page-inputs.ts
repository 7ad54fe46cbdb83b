import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';

/*
 * Everything the chat page's build reads, relative to the project root: the server's code (its
 * OpenAPI document becomes the page's types), the page itself, the build's own code and settings, and
 * the lock file (the versions of esbuild, openapi-typescript and of the libraries that shape the
 * document). Any of them changed = build again; none = the built page is what a build would make.
 */
const PAGE_INPUTS = ['src', 'web/src', 'web/index.html', 'web/share.html', 'web/styles.css', 'web/tsconfig.json', 'web/build', 'tsconfig.json', 'package-lock.json'];

function filesUnder(projectDir: string, path: string): string[] {
  if (!statSync(`${projectDir}${path}`).isDirectory()) return [path];
  return readdirSync(`${projectDir}${path}`, { recursive: true, encoding: 'utf8' })
    .map((file) => `${path}/${file}`)
    .filter((file) => statSync(`${projectDir}${file}`).isFile());
}

/** One hash of the inputs' names and contents: a renamed, added or removed file changes it too. */
export function pageInputsHash(projectDir: string): string {
  const hash = createHash('sha256');
  for (const file of PAGE_INPUTS.flatMap((path) => filesUnder(projectDir, path)).sort()) {
    hash.update(`${file}\0`).update(readFileSync(`${projectDir}${file}`)).update('\0');
  }
  return hash.digest('hex');
}
