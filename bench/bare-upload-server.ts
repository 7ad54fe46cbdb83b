/**
 * The ceiling of the upload scenario: a bare node:http server that writes each request's body to a
 * temporary file (`pipeline(request, fs.createWriteStream(tmp))`), answers 201 and then deletes it.
 * No parsing, no checks, no database: what writing the bytes to disk costs on this machine. Started
 * in its own process like the server under test; prints its URL on stdout.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const directory = mkdtempSync(join(tmpdir(), 'gc-bench-bare-upload-'));
let next = 0;

const server = createServer((req, res) => {
  const target = join(directory, String(next++));
  pipeline(req, createWriteStream(target)).then(
    () => {
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
      res.on('finish', () => void rm(target, { force: true }));
    },
    () => {
      res.writeHead(500).end();
      void rm(target, { force: true });
    },
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
process.on('SIGTERM', () => {
  server.close(() => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  });
  server.closeAllConnections();
});
