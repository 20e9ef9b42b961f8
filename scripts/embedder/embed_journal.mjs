// embed_journal.mjs - makes an upload's embed all-or-nothing across a kill -9. Before an
// upload writes its image and embedding under their final names it lists them in a
// journal (DATASET/.embed-journal-HOST-PID-RANDOM.json); once the manifest names them the
// journal goes. A journal whose process is dead marks an embed that never finished: the
// files it lists that the manifest does not name are removed (recover_embeds, run by
// scripts/serve at start), so no half entry and no orphan embedding is left.
//   const j = open_journal(dir, ['images/cat.png', 'embeddings/cat.npy']);
//   ... write files, then the manifest ...; close_journal(j, dir);   // also on failure
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TEMP_HOST, process_alive } from '../server/atomic_file.mjs';

const JOURNAL_RE = /^\.embed-journal-([A-Za-z0-9]+)-(\d+)-[0-9a-f]{12}\.json$/;

function manifest_files(dir) {
    try {
        const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
        return new Set((m.images || []).flatMap((e) => [e.file, e.embedding, ...Object.values(e.features || {})]));  // SAM 2.1: three feature files
    } catch (err) {
        if (err.code === 'ENOENT') return new Set();
        return null;  // unreadable manifest: remove nothing
    }
}

// Inside the dataset folder only: a journal is input too.
function inside(dir, rel) {
    const p = path.resolve(dir, rel);
    return p.startsWith(path.resolve(dir) + path.sep) ? p : null;
}

export function open_journal(dir, files) {
    const file = path.join(dir, `.embed-journal-${TEMP_HOST}-${process.pid}-${crypto.randomBytes(6).toString('hex')}.json`);
    const fd = fs.openSync(file, 'w', 0o644);
    try { fs.writeFileSync(fd, JSON.stringify({ files })); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    return { file, files };
}

// Removes the listed files the manifest does not name, then the journal; returns what went.
export function close_journal(journal, dir) {
    const named = manifest_files(dir);
    const removed = [];
    if (named) {
        for (const rel of journal.files) {
            const p = typeof rel === 'string' && !named.has(rel) ? inside(dir, rel) : null;
            if (p && fs.existsSync(p)) {
                fs.rmSync(p, { force: true });
                removed.push(p);
            }
        }
    }
    fs.rmSync(journal.file, { force: true });
    return removed;
}

// At start: settles the journals of this host's dead processes; returns notices.
export function recover_embeds(dir) {
    const notices = [];
    let names;
    try { names = fs.readdirSync(dir); } catch { return notices; }
    for (const name of names) {
        const m = JOURNAL_RE.exec(name);
        if (!m || m[1] !== TEMP_HOST || process_alive(Number(m[2]))) continue;
        const file = path.join(dir, name);
        let files = [];
        try { files = JSON.parse(fs.readFileSync(file, 'utf8')).files || []; } catch { /* torn while being written: nothing was created yet */ }
        for (const p of close_journal({ file, files: Array.isArray(files) ? files : [] }, dir)) notices.push(`removed ${p} (an embed killed before the manifest named it)`);
    }
    return notices;
}
