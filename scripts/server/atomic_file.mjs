// atomic_file.mjs - crash-safe file writes shared by the server and the embedder, and
// the removal of what a killed writer left behind.
//   await write_file_atomic(path, data)   // temp file in the same folder, fsync, rename, fsync folder
//   const tmp = temp_path(path, '.png')   // ".NAME.tmp-HOST-PID-RANDOM.png": owner in the name
//   remove_leftovers(dataset_dir)         // at start: temp files of dead processes on this host
// Readers see either the old or the new content, never a torn file, even under kill -9.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

// The writer's host and pid are in every temp name, so a later process can tell its own
// host's dead writers' leftovers (removable) from files a live process or another machine
// sharing the folder (cluster shards) is still writing.
export const TEMP_HOST = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || 'host';
const TEMP_RE = /^\..*\.tmp-([A-Za-z0-9]+)-(\d+)-[0-9a-f]{12}(\.[A-Za-z0-9]{1,8})?$/;
// Names used before the host was part of them, by writers that only ever ran in scripts/serve.
const LEGACY_SERVER_TEMP_RE = /^(?:\.annotations\.json\.tmp-(\d+)-[0-9a-f]{12}|\.upload-(\d+)-[0-9a-f]{12}\.[a-z]{3,4})$/;

export function temp_path(file, ext = '') {
    return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${TEMP_HOST}-${process.pid}-${crypto.randomBytes(6).toString('hex')}${ext}`);
}

export function process_alive(pid) {
    if (pid === process.pid) return true;
    try { process.kill(pid, 0); return true; } catch (err) { return err.code === 'EPERM'; }
}

// The pid whose leftover `name` is (this host's writers only), else 0.
export function leftover_owner(name) {
    const m = TEMP_RE.exec(name);
    if (m) return m[1] === TEMP_HOST ? Number(m[2]) : 0;
    const l = LEGACY_SERVER_TEMP_RE.exec(name);
    return l ? Number(l[1] || l[2]) : 0;
}

// Removes temp files of dead processes under `dir` (depth-limited, symlinks not followed);
// returns the removed paths. A pid reused by a live process keeps its file: safe side.
export function remove_leftovers(dir, { max_depth = 6 } = {}) {
    const removed = [];
    const walk = (d, depth) => {
        let entries;
        try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
        for (const e of entries) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                if (depth < max_depth) walk(p, depth + 1);
            } else if (e.isFile() && e.name.startsWith('.')) {
                const pid = leftover_owner(e.name);
                if (pid && !process_alive(pid)) {
                    fs.rmSync(p, { force: true });
                    removed.push(p);
                }
            }
        }
    };
    walk(dir, 0);
    return removed;
}

function sync_dir(dir) {
    // The rename itself is only durable once the directory entry is on disk.
    try { const fd = fs.openSync(dir, 'r'); try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); } } catch { /* some filesystems refuse fsync on directories; the rename is still atomic */ }
}

export async function write_file_atomic(file, data) {
    const tmp = temp_path(file);
    let fh;
    try {
        fh = await fs.promises.open(tmp, 'w', 0o644);
        await fh.writeFile(data);
        await fh.sync();
        await fh.close();
        fh = undefined;
        await fs.promises.rename(tmp, file);
    } catch (err) {
        if (fh) await fh.close().catch(() => {});
        await fs.promises.rm(tmp, { force: true }).catch(() => {});
        throw err;
    }
    sync_dir(path.dirname(file));
}

export function write_file_atomic_sync(file, data) {
    const tmp = temp_path(file);
    try {
        const fd = fs.openSync(tmp, 'w', 0o644);
        try { fs.writeFileSync(fd, data); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
        fs.renameSync(tmp, file);
    } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw err;
    }
    sync_dir(path.dirname(file));
}

export async function sha256_file(file) {
    const hash = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
    return hash.digest('hex');
}
