// png_file.mjs - test support: writes 8-bit RGB PNGs (lossless, so a decoded
// image equals the array written) and crafts broken ones, with no dependency.
//   png_bytes(width, height, rgb)           rgb: Uint8Array HxWx3 row-major
//   png_header_only(width, height)          a valid signature + IHDR claiming any size
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        t[n] = c >>> 0;
    }
    return t;
})();

function crc32(buf) {
    let c = 0xffffffff;
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width, height) {
    const h = Buffer.alloc(13);
    h.writeUInt32BE(width, 0);
    h.writeUInt32BE(height, 4);
    h[8] = 8;  // bit depth
    h[9] = 2;  // colour type RGB
    return chunk('IHDR', h);
}

export function png_bytes(width, height, rgb) {
    if (rgb.length !== width * height * 3) throw new Error(`png_bytes: ${rgb.length} bytes for ${width}x${height}x3`);
    const raw = Buffer.alloc(height * (1 + width * 3));
    for (let y = 0; y < height; y++) {
        raw[y * (1 + width * 3)] = 0;  // filter: none
        Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (1 + width * 3) + 1);
    }
    return Buffer.concat([SIGNATURE, ihdr(width, height), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Claims width x height but carries only a few bytes of pixel data: a decoder
// that checks the pixel limit before allocating refuses it cheaply.
export function png_header_only(width, height) {
    return Buffer.concat([SIGNATURE, ihdr(width, height), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

// A deterministic test picture: gradients plus a few blocks, so neighbouring
// images differ and embeddings are not all alike.
export function test_picture(width, height, seed) {
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            const i = (y * width + x) * 3;
            const block = ((x >> 3) + (y >> 3) + seed) % 3 === 0 ? 80 : 0;
            rgb[i] = (x * 255 / width + seed * 37) & 255;
            rgb[i + 1] = (y * 255 / height + block) & 255;
            rgb[i + 2] = ((x ^ y) + seed * 11) & 255;
        }
    }
    return png_bytes(width, height, rgb);
}
