// npz_file.mjs - test support: reads arrays from a numpy .npz (a zip of .npy
// files, stored or deflated) without unpacking it to disk.
//   const npz = read_npz('../shared/sam-reference/preprocess/preprocess.npz');
//   const a = npz.get('img0.image');  // {dtype: '|u1', shape: [480, 640, 3], data: Buffer}
import fs from 'node:fs';
import zlib from 'node:zlib';
import { read_npy } from '../../scripts/embedder/npy_file.mjs';

export function read_npz(file) {
    const buf = fs.readFileSync(file);
    // End of central directory: the last "PK\5\6" record.
    const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${file}: not a zip file`);
    const count = buf.readUInt16LE(eocd + 10);
    let p = buf.readUInt32LE(eocd + 16);
    const members = new Map();
    for (let i = 0; i < count; i++) {
        if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
        const method = buf.readUInt16LE(p + 10);
        let csize = buf.readUInt32LE(p + 20);
        const name_len = buf.readUInt16LE(p + 28);
        const extra_len = buf.readUInt16LE(p + 30);
        const comment_len = buf.readUInt16LE(p + 32);
        let local = buf.readUInt32LE(p + 42);
        const name = buf.toString('utf8', p + 46, p + 46 + name_len);
        // zip64: numpy writes it for big members; sizes/offsets move to the extra field.
        if (csize === 0xffffffff || local === 0xffffffff) {
            let e = p + 46 + name_len;
            const end = e + extra_len;
            while (e < end) {
                const id = buf.readUInt16LE(e);
                const size = buf.readUInt16LE(e + 2);
                if (id === 1) {
                    let q = e + 4;
                    const usize_field = buf.readUInt32LE(p + 24) === 0xffffffff;
                    if (usize_field) q += 8;
                    if (csize === 0xffffffff) { csize = Number(buf.readBigUInt64LE(q)); q += 8; }
                    if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(q));
                }
                e += 4 + size;
            }
        }
        members.set(name.replace(/\.npy$/, ''), { method, csize, local });
        p += 46 + name_len + extra_len + comment_len;
    }
    return {
        keys: () => [...members.keys()],
        get(key) {
            const m = members.get(key);
            if (!m) throw new Error(`${file}: no array ${key}`);
            const start = m.local + 30 + buf.readUInt16LE(m.local + 26) + buf.readUInt16LE(m.local + 28);
            const raw = buf.subarray(start, start + m.csize);
            return read_npy(m.method === 0 ? raw : zlib.inflateRawSync(raw));
        },
    };
}
