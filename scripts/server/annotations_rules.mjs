// annotations_rules.mjs - what a body must be before the store takes it, beyond the
// core's COCO import rules (coco_check.mjs runs those): readable text (UTF-8, nesting no
// deeper than the core reads, JSON), and the store's own rules: annotation ids positive
// and unique in the whole dataset, an image_id that is the unit's image, top-level
// "source" / "score" as the app writes them. A refusal is a store_refusal:
// {status: 400 | 404 | 409 | 422 | 428, body: {error, field?, ...}}.
//   const doc = parse_json_body(bytes);                  // throws store_refusal(400)
//   check_annotation_fields(annotations, 'annotations');  // throws store_refusal(422)
import { isUtf8 } from 'node:buffer';

// The core's coco_import refuses deeper nesting; JSON.parse would recurse until the
// stack overflows (a 500) on far less than the body limit allows.
export const MAX_DEPTH = 64;

export class store_refusal extends Error {
    constructor(status, error, extra = {}) { super(error); this.status = status; this.body = { error, ...extra }; }
}

export const invalid = (field, why) => new store_refusal(422, `${field}: ${why}`, { field });

export function is_object(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

// Byte offset of the first invalid UTF-8 sequence (only called once isUtf8 said there is one).
function first_bad_utf8(b) {
    for (let i = 0; i < b.length;) {
        const c = b[i];
        const n = c < 0x80 ? 1 : (c & 0xe0) === 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) === 0xe0 ? 3 : (c & 0xf8) === 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!n || i + n > b.length) return i;
        for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
        const cp = n === 3 ? ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) : n === 4 ? ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) : 0x800;
        if ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return i;
        i += n;
    }
    return b.length;
}

// The deepest nesting of [ and { outside strings, stopping once past `limit`. Byte-wise:
// the bytes that matter are ASCII and never occur inside a UTF-8 multi-byte sequence.
export function json_depth(bytes, limit = MAX_DEPTH) {
    let depth = 0, max = 0, in_string = false;
    for (let i = 0; i < bytes.length; i++) {
        const c = bytes[i];
        if (in_string) {
            if (c === 0x5c) i++;
            else if (c === 0x22) in_string = false;
        } else if (c === 0x22) {
            in_string = true;
        } else if (c === 0x5b || c === 0x7b) {
            if (++depth > max && (max = depth) > limit) return max;
        } else if (c === 0x5d || c === 0x7d) {
            depth--;
        }
    }
    return max;
}

// Returns {value, text}; throws store_refusal(400) naming what is wrong with the bytes.
export function parse_json_body(bytes) {
    if (!isUtf8(bytes)) throw new store_refusal(400, `body is not valid UTF-8 (first bad byte at offset ${first_bad_utf8(bytes)})`);
    if (json_depth(bytes) > MAX_DEPTH) throw new store_refusal(400, `body nests arrays/objects deeper than ${MAX_DEPTH} levels`);
    const text = bytes.toString('utf8');
    try { return { value: JSON.parse(text), text }; } catch (err) {
        throw new store_refusal(400, `body is not valid JSON: ${err.message}`);
    }
}

// Integer versions as ETags: 3, "3" or W/"3"; undefined when absent, NaN when unreadable.
export function parse_version(v) {
    if (v === undefined || v === null) return undefined;
    const s = String(v).trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    return /^\d+$/.test(s) ? Number(s) : NaN;
}

// Returns an error message for a body that is not a COCO document, or '' when fine.
export function validate_coco(coco) {
    if (!is_object(coco)) return 'body must be a JSON object with images, annotations and categories arrays';
    for (const key of ['images', 'annotations', 'categories']) {
        if (!Array.isArray(coco[key])) return `"${key}" must be an array (got ${coco[key] === undefined ? 'nothing' : typeof coco[key]})`;
        const i = coco[key].findIndex((x) => !is_object(x));
        if (i >= 0) return `"${key}"[${i}] must be an object`;
    }
    return '';
}

// Top-level extras the app's per-image client sends (the core reads them inside "sam").
export function check_annotation_fields(annotations, path) {
    annotations.forEach((a, i) => {
        if (a.source !== undefined && a.source !== 'human' && a.source !== 'machine') throw invalid(`${path}[${i}].source`, 'expected "human" or "machine"');
        if (a.score !== undefined && !(typeof a.score === 'number' && Number.isFinite(a.score))) throw invalid(`${path}[${i}].score`, 'expected a finite number');
    });
}

// Annotation ids: positive, unique in the list, and (owner_of) not used by another image's
// unit, so the exported document never holds two annotations with one id.
export function check_annotation_ids(annotations, path, owner_of = null, name = '') {
    const seen = new Map();
    annotations.forEach((a, i) => {
        if (!(Number.isInteger(a.id) && a.id >= 1)) throw invalid(`${path}[${i}].id`, `expected a positive integer, got ${JSON.stringify(a.id)}`);
        if (seen.has(a.id)) throw invalid(`${path}[${i}].id`, `duplicate annotation id ${a.id} (also ${path}[${seen.get(a.id)}])`);
        seen.set(a.id, i);
        const owner = owner_of?.(a.id);
        if (owner !== undefined && owner !== name) throw invalid(`${path}[${i}].id`, `annotation id ${a.id} is used by an annotation of image "${owner}"`);
    });
}
