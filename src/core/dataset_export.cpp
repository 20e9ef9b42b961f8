// dataset_export.cpp - see dataset_export.h.
#include "core/dataset_export.h"

#include <algorithm>
#include <map>

#include "core/png_encode.h"
#include "core/zip_writer.h"

namespace sam {

namespace {

status write_text(export_sink &sink, const std::string &path, const std::string &text, export_report &rep) {
    rep.files++;
    return sink.write(path, (const uint8_t *)text.data(), text.size());
}

bool selected(const doc_image &im, const export_options &opt) { return opt.coco.image_id == 0 || im.id == opt.coco.image_id; }

// Each image's annotations, in document order, keyed by image id.
std::map<int64_t, std::vector<const annotation *>> by_image(const annotation_document &doc) {
    std::map<int64_t, std::vector<const annotation *>> m;
    for (const annotation &a : doc.annotations()) m[a.image_id].push_back(&a);
    return m;
}

status export_yolo_seg(const annotation_document &doc, const export_options &opt, export_sink &sink,
                       export_report &rep) {
    const std::vector<std::string> stems = export_stems(doc, &rep.warnings);
    const auto anns = by_image(doc);
    const std::vector<const annotation *> none;
    status st = write_text(sink, "data.yaml", yolo_seg_data_yaml(doc), rep);
    for (size_t i = 0; i < doc.images().size() && st; i++) {
        const doc_image &im = doc.images()[i];
        if (!selected(im, opt)) continue;
        yolo_seg_export_report yr;
        auto it = anns.find(im.id);
        const std::string txt = yolo_seg_labels(doc, im, it == anns.end() ? none : it->second, opt.yolo, yr);
        rep.images++;
        rep.instances += yr.instances;
        rep.exact_fallbacks += yr.exact_fallbacks;
        rep.empty_skipped += yr.empty_skipped;
        st = write_text(sink, "labels/" + stems[i] + ".txt", txt, rep);
    }
    return st;
}

status export_png_masks(const annotation_document &doc, const export_options &opt, export_sink &sink,
                        export_report &rep) {
    const std::vector<std::string> stems = export_stems(doc, &rep.warnings);
    // One bit depth for the whole export, so a training loader sees one pixel type.
    const auto anns = by_image(doc);
    const std::vector<const annotation *> none;
    size_t most = 0;
    for (const doc_image &im : doc.images()) {
        auto it = anns.find(im.id);
        if (!selected(im, opt) || it == anns.end()) continue;
        size_t n = 0;
        for (const annotation *a : it->second) n += a->area > 0 && (!a->hidden || opt.png.include_hidden);
        most = std::max(most, n);
    }
    rep.instance_bit_depth = most <= 255 ? 8 : 16;
    std::vector<png_masks_image> done;
    for (size_t i = 0; i < doc.images().size(); i++) {
        if (!selected(doc.images()[i], opt)) continue;
        png_masks_image m;
        auto it = anns.find(doc.images()[i].id);
        status st = png_masks_render(doc, doc.images()[i], it == anns.end() ? none : it->second, opt.png, m);
        if (!st) return st;
        std::vector<uint8_t> png;
        if (rep.instance_bit_depth == 8) {
            std::vector<uint8_t> ids(m.instances.begin(), m.instances.end());
            st = png_encode_gray8(ids.data(), m.width, m.height, png);
        } else {
            st = png_encode_gray16(m.instances.data(), m.width, m.height, png);
        }
        if (st) st = sink.write("instances/" + stems[i] + ".png", png.data(), png.size());
        if (st) st = png_encode_gray8(m.semantic.data(), m.width, m.height, png);
        if (st) st = sink.write("semantic/" + stems[i] + ".png", png.data(), png.size());
        if (!st) return st;
        rep.files += 2;
        rep.images++;
        rep.instances += m.legend.size();
        m.instances = {};
        m.semantic = {};
        done.push_back(std::move(m));
    }
    for (const doc_image &im : doc.images()) {
        auto it = anns.find(im.id);
        if (!selected(im, opt) || it == anns.end()) continue;
        for (const annotation *a : it->second) rep.empty_skipped += a->area <= 0 && (!a->hidden || opt.png.include_hidden);
    }
    return write_text(sink, "legend.json", png_masks_legend(doc, done, stems, rep.instance_bit_depth), rep);
}

class zip_sink : public export_sink {
public:
    explicit zip_sink(std::string prefix) : prefix_(std::move(prefix)) {}
    status write(const std::string &path, const uint8_t *data, size_t size) override {
        return zip.add(prefix_ + path, data, size);
    }
    zip_writer zip;

private:
    std::string prefix_;
};

}  // namespace

const char *export_format_name(export_format f) {
    switch (f) {
        case export_format::coco: return "coco";
        case export_format::yolo_seg: return "yolo_seg";
        case export_format::png_masks: return "png_masks";
    }
    return "coco";
}

bool export_format_from_name(const std::string &name, export_format &out) {
    for (export_format f : {export_format::coco, export_format::yolo_seg, export_format::png_masks})
        if (name == export_format_name(f)) {
            out = f;
            return true;
        }
    return false;
}

status export_dataset(const annotation_document &doc, export_format format, const export_options &opt,
                      export_sink &sink, export_report &rep) {
    rep = export_report();
    switch (format) {
        case export_format::yolo_seg: return export_yolo_seg(doc, opt, sink, rep);
        case export_format::png_masks: return export_png_masks(doc, opt, sink, rep);
        case export_format::coco: break;
    }
    const auto anns = by_image(doc);
    for (const doc_image &im : doc.images()) {
        auto it = anns.find(im.id);
        if (!selected(im, opt)) continue;
        rep.images++;
        if (it != anns.end())
            for (const annotation *a : it->second) rep.instances += !a->hidden || opt.coco.include_hidden;
    }
    return write_text(sink, "annotations.json", coco_export(doc, opt.coco), rep);
}

status export_zip(const annotation_document &doc, export_format format, const export_options &opt,
                  std::vector<uint8_t> &zip, export_report &rep) {
    zip_sink sink(std::string(export_format_name(format)) + "/");
    status st = export_dataset(doc, format, opt, sink, rep);
    if (!st) return st;
    zip = sink.zip.finish();
    return status::success();
}

}  // namespace sam
