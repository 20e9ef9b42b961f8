// static_server.mjs - a minimal static file server for the browser tests:
// 127.0.0.1, a free port, cross-origin isolation headers (COOP/COEP, so ONNX
// Runtime Web may use threads) and several roots: mounts = { '/': dir, '/data/': dir2 };
// a mount's value may be a list of folders, searched in order (an overlay, like
// the offline bundle's dataset files beside the app); { isolation: false } leaves
// COOP/COEP out, as a plain static host does.
//   const srv = await startStaticServer({ '/': 'build/wasm/site' });  ... srv.url ... await srv.close();
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg', '.onnx': 'application/octet-stream', '.npy': 'application/octet-stream',
};

export async function startStaticServer(mounts, { isolation = true } = {}) {
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const mount = entries.find(([prefix]) => urlPath.startsWith(prefix));
    let file = null;
    for (const dir of mount ? [mount[1]].flat() : []) {
      const root = path.resolve(dir);
      let f = path.resolve(root, '.' + path.sep + urlPath.slice(mount[0].length));
      if (!f.startsWith(root)) continue;
      if (fs.existsSync(f) && fs.statSync(f).isDirectory()) f = path.join(f, 'index.html');
      if (fs.existsSync(f)) { file = f; break; }
    }
    // isolation: false serves as a plain static host does (no COOP/COEP: one thread).
    const headers = isolation ? {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    } : { 'Cache-Control': 'no-store' };
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404, headers);
      res.end('not found');
      return;
    }
    headers['Content-Type'] = TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
