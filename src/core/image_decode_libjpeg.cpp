// image_decode_libjpeg.cpp - JPEG -> RGB with libjpeg-turbo, set up as Pillow's
// JpegDecode.c sets it up (no draft mode): the library's defaults (accurate
// integer IDCT, fancy upsampling, block smoothing), out_color_space RGB for
// colour files, GRAYSCALE for grey (then replicated, as convert("RGB")), CMYK
// for CMYK/YCCK (inverted when an Adobe marker is present, as PIL's "CMYK;I",
// then PIL's cmyk2rgb). So the pixels equal PIL's, which the official SAM
// pipeline feeds its encoder (PIL and OpenCV both decode with libjpeg-turbo).
#if SAM_HAVE_LIBJPEG
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t first

#include <jerror.h>
#include <jpeglib.h>

#include "core/image_codecs.h"

namespace sam {

namespace {

// A progressive file can hold thousands of tiny scans, each a full pass over the
// coefficients: libjpeg-turbo's documentation advises a limit for untrusted input.
constexpr int kMaxScans = 1000;

struct error_state {
    jpeg_error_mgr pub;  // first: libjpeg passes &pub as cinfo->err
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX] = "";
    bool truncated = false;
    bool too_many_scans = false;
};

void on_error(j_common_ptr c) {
    error_state *e = (error_state *)c->err;
    (*c->err->format_message)(c, e->message);
    longjmp(e->jump, 1);
}

// Warnings about corrupt data are ignored, as PIL ignores them; a file that
// ends early is refused (PIL: "image file is truncated").
void on_message(j_common_ptr c, int level) {
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) ((error_state *)c->err)->truncated = true;
}

void on_progress(j_common_ptr c) {
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > kMaxScans) {
        ((error_state *)c->err)->too_many_scans = true;
        c->err->msg_code = JERR_BAD_SCAN_SCRIPT;
        (*c->err->error_exit)(c);
    }
}

// Pillow's MULDIV255: a * b / 255, rounded.
inline int muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

// What survives a longjmp lives outside the function that calls setjmp.
struct jpeg_job {
    const uint8_t *bytes = nullptr;
    size_t n = 0;
    uint64_t max_pixels = 0;
    image_u8 *out = nullptr;
    std::vector<uint8_t> row;  // one scanline (grey and CMYK files)
    int width = 0, height = 0;
    bool over_limit = false;
};

// Returns false with err->message set; only trivially destructible locals here.
bool run_decompress(jpeg_job &job, jpeg_decompress_struct &cinfo, error_state &err) {
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_progress_mgr progress;
    progress.progress_monitor = on_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, job.bytes, (unsigned long)job.n);
    jpeg_read_header(&cinfo, TRUE);

    const uint64_t w = cinfo.image_width, h = cinfo.image_height;
    if (w == 0 || h == 0 || w * h > job.max_pixels) {
        job.over_limit = true;
        job.width = (int)w;
        job.height = (int)h;
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    // Coefficient buffers of a progressive 4:4:4 file take 6 bytes per pixel; a
    // file that needs more is corrupt (libjpeg then fails: no backing store).
    cinfo.mem->max_memory_to_use = (long)(64u << 20) + (long)(w * h * 12);

    const J_COLOR_SPACE in = cinfo.jpeg_color_space;
    const bool cmyk = in == JCS_CMYK || in == JCS_YCCK;
    cinfo.out_color_space = in == JCS_GRAYSCALE ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const int ow = (int)cinfo.output_width, oh = (int)cinfo.output_height, nc = cinfo.output_components;

    job.out->width = ow;
    job.out->height = oh;
    job.out->channels = 3;
    job.out->pixels.assign((size_t)ow * oh * 3, 0);
    if (nc != 3) job.row.assign((size_t)ow * nc, 0);
    const bool inverted = cmyk && cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = job.out->pixels.data() + (size_t)cinfo.output_scanline * ow * 3;
        JSAMPROW rows[1] = {nc == 3 ? dst : job.row.data()};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;  // suspended: the data ran out
        if (nc == 1) {
            for (int x = 0; x < ow; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = job.row[x];
        } else if (nc == 4) {
            for (int x = 0; x < ow; x++) {
                const uint8_t *p = &job.row[4 * x];
                int c = p[0], m = p[1], y = p[2], k = p[3];
                if (inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
                const int nk = 255 - k;
                dst[3 * x] = (uint8_t)(nk - muldiv255(c, nk));
                dst[3 * x + 1] = (uint8_t)(nk - muldiv255(m, nk));
                dst[3 * x + 2] = (uint8_t)(nk - muldiv255(y, nk));
            }
        }
    }
    if (cinfo.output_scanline < cinfo.output_height) err.truncated = true;
    else jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return true;
}

}  // namespace

status decode_with_libjpeg(const uint8_t *b, size_t n, const std::string &name, uint64_t max_pixels, image_u8 &out) {
    jpeg_job job;
    job.bytes = b;
    job.n = n;
    job.max_pixels = max_pixels;
    image_u8 img;
    job.out = &img;
    jpeg_decompress_struct cinfo;
    error_state err;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = on_message;

    if (!run_decompress(job, cinfo, err)) {
        if (job.over_limit)
            return status::failure(name + ": JPEG frame is " + std::to_string(job.width) + "x" +
                                   std::to_string(job.height) + ", outside the limit of " +
                                   std::to_string(max_pixels) + " pixels");
        if (err.too_many_scans)
            return status::failure(name + ": corrupt JPEG (more than " + std::to_string(kMaxScans) + " scans)");
        return status::failure(name + ": corrupt JPEG (" + err.message + ")");
    }
    if (err.truncated) return status::failure(name + ": truncated JPEG (the image data ends early)");
    out = std::move(img);
    return status::success();
}

}  // namespace sam
#endif  // SAM_HAVE_LIBJPEG
