// atomic_file.mjs - crash-safe file writes shared by the server and the embedder.
// write_file_atomic(path, data): writes a temp file in the same folder, fsyncs it,
// renames it over `path` and fsyncs the folder, so readers see either the old or
// the new content, never a torn file, even if the process is killed mid-write.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export async function write_file_atomic(file, data) {
    const dir = path.dirname(file);
    // A dot-prefixed temp name: the static server never serves dotfiles.
    const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
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
    // The rename itself is only durable once the directory entry is on disk.
    try {
        const dh = await fs.promises.open(dir, 'r');
        try { await dh.sync(); } finally { await dh.close(); }
    } catch { /* some filesystems refuse fsync on directories; the rename is still atomic */ }
}

export function write_file_atomic_sync(file, data) {
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
    try {
        const fd = fs.openSync(tmp, 'w', 0o644);
        try { fs.writeFileSync(fd, data); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
        fs.renameSync(tmp, file);
    } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw err;
    }
    try { const fd = fs.openSync(dir, 'r'); try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); } } catch { /* see above */ }
}

export async function sha256_file(file) {
    const hash = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
    return hash.digest('hex');
}
