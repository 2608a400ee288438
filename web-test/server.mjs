// The static server of the browser pages: assets/web/ at /, the wasm package
// (target/web/pkg/, from scripts/build-web.sh) at /pkg/ and the bundled data (assets/data/)
// at /data/. Used by the headless tests and, run directly, to serve the demo:
//
//   node web-test/server.mjs [port]      (127.0.0.1 only; port 8000 by default)

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PKG_DIR = path.join(ROOT, 'target', 'web', 'pkg');

// URL prefix -> directory; the longest matching prefix wins, '/' last.
const MOUNTS = [
  ['/pkg/', PKG_DIR],
  ['/data/', path.join(ROOT, 'assets', 'data')],
  ['/', path.join(ROOT, 'assets', 'web')],
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.gz': 'application/octet-stream',
};

// Static files only, never outside the mounted directories.
function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  let rel = decodeURIComponent(url.pathname);
  if (rel === '/') rel = '/index.html';
  const [prefix, base] = MOUNTS.find(([p]) => rel.startsWith(p));
  const file = path.join(base, path.normalize(rel.slice(prefix.length - 1)));
  if (!file.startsWith(base + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  readFile(file).then(
    (body) => {
      // .gz files are served as they are: the page hands the gzip bytes to the wasm module,
      // which inflates them itself (no content-encoding, so the browser leaves them alone).
      const type = MIME[path.extname(file)] || 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    },
    () => res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`),
  );
}

/// Listen on 127.0.0.1:`port` (0: any free port); resolves to the server.
export async function startServer(port = 0) {
  const server = createServer(handle);
  await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  return server;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] || 8000);
  startServer(port).then(
    (s) => console.log(`serving the aer demo at http://127.0.0.1:${s.address().port}/ (Ctrl-C stops)`),
    (e) => {
      console.error(`server: cannot listen on 127.0.0.1:${port}: ${e.message}; pass another port`);
      process.exit(1);
    },
  );
}
