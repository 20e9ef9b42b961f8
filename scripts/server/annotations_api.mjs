// annotations_api.mjs - the routes under /api/annotations/<dataset> (see README, "The
// annotations API"): the COCO export and legacy whole-document PUT, the index, per-image
// and categories units with If-Match versions, their history and restore.
//   await handle_annotations({store, read, send_json, send_text}, req, res, segs)
// segs: the decoded path segments after "annotations" ([dataset, ...]); a file_name is one
// segment (encodeURIComponent), used only as a key, never as a path on disk.
import { IMAGE, CATEGORIES } from './annotations_db.mjs';
import { parse_version } from './annotations_rules.mjs';

const etag = (v) => ({ ETag: `"${v}"` });

// {"file_name"?, "version", "annotations"|"categories": <the stored bytes>, ...extra}
function unit_text(kind, name, version, content, extra = '') {
    const head = kind === IMAGE ? `{"file_name":${JSON.stringify(name)},` : '{';
    const key = kind === IMAGE ? 'annotations' : 'categories';
    return Buffer.concat([Buffer.from(`${head}"version":${version},"${key}":`), content ?? Buffer.from('[]'), Buffer.from(`${extra}}`)]);
}

export async function handle_annotations(ctx, req, res, segs) {
    const { store, send_json, send_text } = ctx;
    const [ds_name, ...rest] = segs;
    const ds = store.dataset(ds_name);
    if (!ds) return send_json(res, 404, { error: `no dataset named "${ds_name}"` });
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const not_allowed = (allow) => send_json(res, 405, { error: 'method not allowed' }, { Allow: allow });

    // A write: If-Match required (428 names the current version), body read within bounds,
    // then parsed, checked and committed by the store's worker.
    const write = async (op, args, current, { needs_if_match = true } = {}) => {
        const if_match = parse_version(req.headers['if-match']);
        if (needs_if_match && (if_match === undefined || Number.isNaN(if_match))) {
            return send_json(res, 428, { error: 'send the version you edited: If-Match: "<version>"', version: current() }, etag(current()));
        }
        const body = await ctx.read(req, res);
        const r = await store.write(ds_name, op, { ...args, if_match }, body);
        const headers = Number.isInteger(r.body.version) ? etag(r.body.version) : {};
        if (op === 'put_document' && r.status === 200) headers['X-Annotations-Version'] = String(r.body.version);
        return send_json(res, r.status, r.body, headers);
    };

    if (rest.length === 0) {
        if (method === 'GET') {
            const { text, version } = store.export_text(ds_name);
            return send_text(res, 200, text, { ...etag(version), 'X-Annotations-Version': String(version) });
        }
        if (method === 'PUT') return write('put_document', {}, () => ds.db.store_version(), { needs_if_match: false });
        return not_allowed('GET, HEAD, PUT');
    }
    if (rest[0] === 'index' && rest.length === 1) {
        if (method !== 'GET') return not_allowed('GET, HEAD');
        const index = store.index(ds_name);
        return send_json(res, 200, index, etag(index.version));
    }

    let kind, name;
    if (rest[0] === 'categories') {
        kind = CATEGORIES;
        name = '';
        rest.splice(0, 1);
    } else if (rest[0] === 'images' && rest.length >= 2) {
        kind = IMAGE;
        name = rest[1];
        rest.splice(0, 2);
        if (!ds.images.current().by_name.has(name)) return send_json(res, 404, { error: `"${name}" is not an image of dataset "${ds_name}"` });
    } else {
        return send_json(res, 404, { error: 'no such API' });
    }
    const unit = () => store.unit(ds_name, kind, name);
    const version = () => unit()?.version ?? 0;

    if (rest.length === 0) {
        if (method === 'GET') {
            const u = unit();
            const v = u?.version ?? 0;
            return send_text(res, 200, unit_text(kind, name, v, u?.content), etag(v));
        }
        if (method === 'PUT') return write(kind === IMAGE ? 'put_image' : 'put_categories', { name }, version);
        return not_allowed('GET, HEAD, PUT');
    }
    if (rest[0] === 'history' && rest.length === 1) {
        if (method !== 'GET') return not_allowed('GET, HEAD');
        return send_json(res, 200, { versions: ds.db.history(kind, name) });
    }
    if (rest[0] === 'history' && rest.length === 2) {
        if (method !== 'GET') return not_allowed('GET, HEAD');
        const n = /^\d+$/.test(rest[1]) ? Number(rest[1]) : NaN;
        const past = Number.isSafeInteger(n) ? ds.db.past(kind, name, n) : null;
        if (!past) return send_json(res, 404, { error: `no version ${rest[1]} of ${kind === IMAGE ? `"${name}"` : 'the categories'}` });
        return send_text(res, 200, unit_text(kind, name, past.version, past.content, `,"saved_at":${JSON.stringify(past.saved_at)}`), etag(past.version));
    }
    if (rest[0] === 'restore' && rest.length === 1) {
        if (method !== 'POST') return not_allowed('POST');
        return write('restore', { kind, name }, version);
    }
    return send_json(res, 404, { error: 'no such API' });
}
