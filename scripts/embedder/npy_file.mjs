// npy_file.mjs - .npy (format 1.0) encoding of float tensors, and float32 -> float16.
//   npy_bytes(Float32Array, [1,256,64,64], 'float32' | 'float16') -> Buffer
//   read_npy(buffer) -> {dtype: '<f4'|'<f2'|..., shape, data: Buffer (raw, little-endian)}
// Little-endian, C order, header padded to a multiple of 64 bytes as numpy does.

// Round-to-nearest-even float32 -> IEEE half, with subnormals, inf and NaN.
export function f32_to_f16_bits(values) {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const out = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) {
        f[0] = values[i];
        const x = u[0];
        const sign = (x >>> 16) & 0x8000;
        const exp = (x >>> 23) & 0xff;
        let mant = x & 0x7fffff;
        if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); continue; }
        let e = exp - 127 + 15;
        if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
        if (e <= 0) {
            if (e < -10) { out[i] = sign; continue; }
            mant |= 0x800000;
            const shift = 14 - e;
            let h = mant >>> shift;
            const rem = mant & ((1 << shift) - 1);
            const half = 1 << (shift - 1);
            if (rem > half || (rem === half && (h & 1))) h++;
            out[i] = sign | h;
            continue;
        }
        let h = (e << 10) | (mant >>> 13);
        const rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;  // may carry into the exponent: still correct
        out[i] = sign | h;
    }
    return out;
}

export function f16_bits_to_f32(bits) {
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) {
        const h = bits[i];
        const s = h & 0x8000 ? -1 : 1;
        const e = (h >>> 10) & 0x1f;
        const m = h & 0x3ff;
        out[i] = e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
    return out;
}

export function npy_bytes(values, shape, dtype = 'float32') {
    const descr = dtype === 'float16' ? '<f2' : dtype === 'float32' ? '<f4' : null;
    if (!descr) throw new Error(`npy_bytes: unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== values.length) throw new Error(`npy_bytes: ${values.length} values for shape [${shape}]`);
    const shape_text = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape_text}, }`;
    const total = 10 + header.length + 1;
    header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1; head[7] = 0;
    head.writeUInt16LE(header.length, 8);
    let body;
    if (dtype === 'float16') {
        const bits = f32_to_f16_bits(values);
        body = Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
    } else {
        const f = values instanceof Float32Array ? values : Float32Array.from(values);
        body = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
    }
    return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function read_npy(buf) {
    if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy file');
    const major = buf[6];
    const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', start, start + hlen);
    const dtype = /'descr':\s*'([^']+)'/.exec(header)[1];
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
    return { dtype, shape, data: buf.subarray(start + hlen) };
}

// Float32Array view of a .npy's values whatever its float dtype.
export function npy_to_f32(npy) {
    const d = npy.data;
    if (npy.dtype === '<f4') return new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    if (npy.dtype === '<f2') return f16_bits_to_f32(new Uint16Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)));
    throw new Error(`unsupported dtype ${npy.dtype}`);
}
