// image_decode_libpng.cpp - PNG -> RGB with libpng's classic API, giving
// Pillow's Image.open(f).convert("RGB"): palette entries looked up, grey of
// 1/2/4 bits scaled to 8 and replicated, alpha and tRNS transparency dropped
// (never composited), 16-bit samples cut to their high byte, gamma/sRGB/ICC
// chunks not applied, Adam7 interlacing undone. One deliberate difference:
// PIL clips 16-bit grey ("I" mode) to 255, which whitens nearly every 16-bit
// photo; we keep its high byte, as PIL does for 16-bit RGB and OpenCV for both.
#if SAM_HAVE_LIBPNG
#include <png.h>

#include <csetjmp>
#include <cstring>

#include "core/image_codecs.h"

namespace sam {

namespace {

struct png_job {
    const uint8_t *bytes = nullptr;
    size_t n = 0, at = 0;
    uint64_t max_pixels = 0;
    image_u8 *out = nullptr;
    std::vector<png_bytep> rows;
    std::string message;
    uint32_t width = 0, height = 0;
    bool over_limit = false;
};

void on_error(png_structp png, png_const_charp message) {
    png_job *job = (png_job *)png_get_error_ptr(png);
    job->message = message ? message : "unknown error";
    png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // ancillary trouble: chunk dropped, as PIL goes on

void on_read(png_structp png, png_bytep data, png_size_t length) {
    png_job *job = (png_job *)png_get_io_ptr(png);
    if (length > job->n - job->at) png_error(png, "the file ends early (truncated)");
    std::memcpy(data, job->bytes + job->at, length);
    job->at += length;
}

// Returns false with job.message set; only trivially destructible locals here.
bool run_read(png_job &job, png_structp png, png_infop info) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_read_fn(png, &job, on_read);
    // Text and ICC chunks are never used: bound what they may make libpng allocate.
    png_set_chunk_malloc_max(png, 8u << 20);
    png_set_chunk_cache_max(png, 1000);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, colour = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &colour, &interlace, nullptr, nullptr);
    if ((uint64_t)w * h > job.max_pixels) {
        job.over_limit = true;
        job.width = w;
        job.height = h;
        return false;
    }
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);  // also expands tRNS: stripped below
    if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3) {
        job.message = "unexpected pixel layout after conversion";
        return false;
    }

    job.out->width = (int)w;
    job.out->height = (int)h;
    job.out->channels = 3;
    job.out->pixels.assign((size_t)w * h * 3, 0);
    job.rows.resize(h);
    for (png_uint_32 y = 0; y < h; y++) job.rows[y] = job.out->pixels.data() + (size_t)y * w * 3;
    png_read_image(png, job.rows.data());
    png_read_end(png, nullptr);
    return true;
}

}  // namespace

status decode_with_libpng(const uint8_t *b, size_t n, const std::string &name, uint64_t max_pixels, image_u8 &out) {
    png_job job;
    job.bytes = b;
    job.n = n;
    job.at = 8;  // the signature, already checked by sniff_image_type
    job.max_pixels = max_pixels;
    image_u8 img;
    job.out = &img;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
    if (!png) return status::failure(name + ": cannot start the PNG decoder (out of memory)");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        return status::failure(name + ": cannot start the PNG decoder (out of memory)");
    }
    png_set_sig_bytes(png, 8);
    const bool ok = run_read(job, png, info);
    png_destroy_read_struct(&png, &info, nullptr);
    if (job.over_limit)
        return status::failure(name + ": PNG is " + std::to_string(job.width) + "x" + std::to_string(job.height) +
                               ", more than the limit of " + std::to_string(max_pixels) + " pixels");
    if (!ok) return status::failure(name + ": corrupt PNG (" + job.message + ")");
    out = std::move(img);
    return status::success();
}

}  // namespace sam
#endif  // SAM_HAVE_LIBPNG
