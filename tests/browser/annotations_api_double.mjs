// annotations_api_double.mjs - the per-image annotations API of
// /work/notes/annotations_api.md in memory, for the browser save tests while the real
// scripts/serve lacks it (saving.test.mjs uses the real server whenever it answers
// GET .../index; this double is the fallback, and says so in the test output). It
// serves the app and one dataset like scripts/serve (/, /datasets/<name>/, COOP/COEP)
// and implements: GET /api/datasets; GET/PUT /api/annotations/<name> (assembled
// document, legacy whole PUT); GET .../index; GET/PUT .../images/<file_name> and
// .../categories with per-unit versions, If-Match required (428), 409 with the current
// unit on a stale write. Only what the app's client uses; no history routes.
//   const api = await startApiDouble({ site, dataset, name });  api.url ... api.units ... await api.close();
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.png': 'image/png', '.onnx': 'application/octet-stream', '.npy': 'application/octet-stream' };

export async function startApiDouble({ site, dataset, name }) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dataset, 'manifest.json'), 'utf8'));
  const files = manifest.images.map((im) => ({ id: im.id, file_name: im.file.replace(/^images\//, '') }));
  const units = new Map();  // unit -> {version, content}
  const state = { store_version: 0, puts: [], requests: [] };
  const unit = (u) => units.get(u) || { version: 0, content: [] };
  const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
  const json = (res, code, obj) => {
    res.writeHead(code, { ...headers, 'Content-Type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const assembled = () => ({
    images: manifest.images.map((im) => ({ id: im.id, file_name: im.file.replace(/^images\//, ''), width: im.width, height: im.height })),
    annotations: files.flatMap((f) => unit(`image:${f.file_name}`).content.map((a) => ({ ...a, image_id: f.id }))),
    categories: unit('categories').content,
    version: state.store_version,
  });
  const put = (u, ifMatch, content) => {
    const cur = unit(u);
    if (String(cur.version) !== ifMatch) return { code: 409, body: { error: `stale version ${ifMatch}`, version: cur.version, [u === 'categories' ? 'categories' : 'annotations']: cur.content } };
    units.set(u, { version: cur.version + 1, content });
    state.store_version++;
    return { code: 200, body: { version: cur.version + 1 } };
  };
  const api = `/api/annotations/${name}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const p = url.pathname;
      state.requests.push({ method: req.method, path: p, authorization: req.headers.authorization || '' });
      const ifMatch = (req.headers['if-match'] || '').replace(/"/g, '');
      if (p === '/api/datasets') return json(res, 200, { datasets: [{ name, manifest: `/datasets/${name}/manifest.json` }], embed: false });
      if (p === api && req.method === 'GET') return json(res, 200, assembled());
      if (p === `${api}/index`) {
        return json(res, 200, { version: state.store_version, categories: { version: unit('categories').version },
          images: [...units].filter(([u]) => u.startsWith('image:')).map(([u, v]) => ({ file_name: u.slice(6), version: v.version, count: v.content.length })) });
      }
      if (p.startsWith(`${api}/`) && (req.method === 'GET' || req.method === 'PUT')) {
        const rest = p.slice(api.length + 1);
        const u = rest === 'categories' ? 'categories' : rest.startsWith('images/') ? `image:${decodeURIComponent(rest.slice(7))}` : '';
        if (!u || (u !== 'categories' && !files.some((f) => `image:${f.file_name}` === u))) return json(res, 404, { error: 'not found' });
        if (req.method === 'GET') return json(res, 200, { version: unit(u).version, [u === 'categories' ? 'categories' : 'annotations']: unit(u).content });
        if (!ifMatch) return json(res, 428, { error: 'If-Match required' });
        const parsed = JSON.parse(body);
        state.puts.push({ unit: u, bytes: Buffer.byteLength(body), if_match: ifMatch });
        const r = put(u, ifMatch, u === 'categories' ? parsed.categories : parsed.annotations);
        return json(res, r.code, r.body);
      }
      // static: the app, the dataset
      const m = /^\/datasets\/([^/]+)\/(.*)$/.exec(p);
      const root = m ? (m[1] === name ? dataset : null) : site;
      const rel = m ? m[2] : p.slice(1) || 'index.html';
      const f = root && path.resolve(root, rel);
      if (!f || !f.startsWith(path.resolve(root)) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) {
        res.writeHead(404, headers);
        return res.end('not found');
      }
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(f)] || 'application/octet-stream' });
      fs.createReadStream(f).pipe(res);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    units, state,
    // another client's write of an image unit (as its PUT would be)
    write: (fileName, content) => put(`image:${fileName}`, String(unit(`image:${fileName}`).version), content),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
