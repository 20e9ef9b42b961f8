// sam_amg - the C++ side of "segment everything" and of detector boxes to masks, for the
// Node embedder (scripts/embedder/everything.mjs, boxes.mjs), which only runs the decoder
// ONNX and ferries tensors: grid points, filtering, NMS, upsampling and RLE happen here.
//   sam_amg --stdin   long-lived; reads requests, answers each with one JSON line
//                     {"ok": true, ...} or {"ok": false, "error": MSG}. Ends at EOF.
// A request is one JSON line, followed for "batch" and "box_mask" by exactly "bytes" raw
// little-endian float32 bytes: iou_predictions (n x channels), then low_res_masks
// (n x channels x 256 x 256). A header that is not JSON ends the tool (exit 1): the byte
// stream can no longer be followed.
//   {"cmd":"everything","height":H,"width":W,"params":{official names...}}
//       -> {"crops":[[x0,y0,x1,y1]..],"input_sizes":[[h,w]..],"points":[[x,y,x,y..] per crop,
//           1024 frame of that crop's embedding],"points_per_batch":B,"params":{all, in effect}}
//   {"cmd":"batch","crop":c,"first":i,"n":n,"channels":4,"bytes":N} + payload -> {"kept":k}
//   {"cmd":"finish"} -> {"annotations":[official records, segmentation as COCO RLE],"stats":{..}}
//   {"cmd":"box","height":H,"width":W,"bbox":[x,y,w,h]}
//       -> {"point_coords":[x0,y0,x1,y1] (1024 frame),"point_labels":[2,3]}
//   {"cmd":"box_mask","height":H,"width":W,"channels":K,"bytes":N} + payload (n = 1)
//       -> {"segmentation":{"size":[H,W],"counts":S},"area":A,"bbox":[x,y,w,h],"predicted_iou":q}
//          using mask 0 (SamPredictor.predict(box=..., multimask_output=False)).
// Crops (crop_n_layers > 0) need their own embeddings, from the encoder input of the crop:
//   {"cmd":"crop_input","image":PATH,"crop":[x0,y0,x1,y1],"out":PATH}
//       -> writes the 1x3x1024x1024 float32 encoder input of image[y0:y1, x0:x1] (EXIF-
//          oriented pixels; the same preprocessing as sam_preprocess) -> {"input_h","input_w"}
// Detector boxes to a COCO file (scripts/embed --boxes), a session of three requests:
//   {"cmd":"boxes_load","format":"coco"|"yolo","path":FILE_OR_DIR,"classes":FILE|null,
//    "images":[{"id","file","width","height"} from manifest.json]}
//       -> {"jobs":[{"image_id","boxes":[{"index","point_coords":[x0,y0,x1,y1] (1024 frame)}]}],
//           "problems":[...],"unmatched":[detector image names not in the manifest],"boxes":N}
//       COCO boxes match manifest files by file_name (or its last path part); detection
//       results by image_id; YOLO DIR/<stem>.txt by the image's stem (classes: FILE, else
//       DIR/classes.txt or DIR/obj.names when present).
//   {"cmd":"boxes_mask","index":k,"channels":K,"bytes":N} + payload (as box_mask)
//       -> {"area":A,"empty":bool,"tiny":bool}: mask 0 becomes a machine annotation with the
//          detector's category and score (its predicted IoU when the detector gave none).
//   {"cmd":"boxes_write","path":OUT,"segmentation":"polygons"|"rle"}
//       -> writes the COCO file (OUT.tmp + rename) -> {"annotations":n,"empty":[..],"tiny":[..]}
//   Empty masks are left out of the file; tiny ones (< 5% of their box, or < 16 pixels)
//   are kept; both are listed as {"image","bbox","category","area"}.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/annotation_document.h"
#include "core/automatic_mask_generator.h"
#include "core/box_prompts.h"
#include "core/coco_json.h"
#include "core/image_decode.h"
#include "core/mask_postprocess.h"
#include "core/resize_longest_side.h"
#include "core/rle.h"

namespace {

using nlohmann::json;

constexpr uint64_t k_max_payload = (uint64_t)1 << 31;  // 2 GiB: 2048 points x 4 masks
constexpr int k_max_side = 100000;

json rle_json(const sam::rle &r) {
    return json{{"size", {r.height, r.width}}, {"counts", sam::rle_to_string(r)}};
}

json xywh(const sam::box_xywh &b) { return json::array({b.x, b.y, b.w, b.h}); }

// Reads the official parameter names from `p` into `out`; unknown names are errors so a
// typo does not silently run with the default.
sam::status read_params(const json &p, sam::amg_params &out) {
    if (p.is_null()) return {};
    if (!p.is_object()) return sam::status::failure("params must be an object");
    for (auto it = p.begin(); it != p.end(); ++it) {
        const std::string &k = it.key();
        const json &v = it.value();
        auto num = [&](double &dst) {
            if (!v.is_number()) return false;
            dst = v.get<double>();
            return true;
        };
        auto integer = [&](int &dst) {
            if (!v.is_number_integer()) return false;
            const int64_t x = v.get<int64_t>();
            if (x < -1000000000 || x > 1000000000) return false;
            dst = (int)x;
            return true;
        };
        bool ok;
        double tmp = 0;
        if (k == "points_per_side") ok = integer(out.points_per_side);
        else if (k == "points_per_batch") ok = integer(out.points_per_batch);
        else if (k == "pred_iou_thresh") ok = num(out.pred_iou_thresh);
        else if (k == "stability_score_thresh") ok = num(out.stability_score_thresh);
        else if (k == "stability_score_offset") ok = num(out.stability_score_offset);
        else if (k == "box_nms_thresh") ok = num(out.box_nms_thresh);
        else if (k == "crop_n_layers") ok = integer(out.crop_n_layers);
        else if (k == "crop_nms_thresh") ok = num(out.crop_nms_thresh);
        else if (k == "crop_overlap_ratio") ok = num(out.crop_overlap_ratio);
        else if (k == "crop_n_points_downscale_factor") ok = integer(out.crop_n_points_downscale_factor);
        else if (k == "min_mask_region_area") ok = integer(out.min_mask_region_area);
        else if (k == "mask_threshold") { ok = num(tmp); out.mask_threshold = (float)tmp; }
        else if (k == "stability_score_on_low_res") { ok = v.is_boolean(); if (ok) out.stability_score_on_low_res = v.get<bool>(); }
        else if (k == "output_mode") ok = v == "coco_rle";  // the only mode a tool can return
        else return sam::status::failure("params: unknown parameter \"" + k + "\"");
        if (!ok) return sam::status::failure("params: " + k + " has the wrong type");
    }
    return sam::amg_params_validate(out);
}

// Every parameter with its value in effect (defaults included), for provenance.
json params_json(const sam::amg_params &p) {
    return json{{"points_per_side", p.points_per_side},
                {"points_per_batch", p.points_per_batch},
                {"pred_iou_thresh", p.pred_iou_thresh},
                {"stability_score_thresh", p.stability_score_thresh},
                {"stability_score_offset", p.stability_score_offset},
                {"box_nms_thresh", p.box_nms_thresh},
                {"crop_n_layers", p.crop_n_layers},
                {"crop_nms_thresh", p.crop_nms_thresh},
                {"crop_overlap_ratio", p.crop_overlap_ratio},
                {"crop_n_points_downscale_factor", p.crop_n_points_downscale_factor},
                {"min_mask_region_area", p.min_mask_region_area},
                {"mask_threshold", p.mask_threshold},
                {"stability_score_on_low_res", p.stability_score_on_low_res},
                {"output_mode", "coco_rle"}};
}

// A string member, "" when absent or not a string (json::value() would abort on a wrong
// type here: the tools are built without exceptions).
std::string str_field(const json &o, const char *key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool get_size(const json &req, int &h, int &w) {
    if (!req.contains("height") || !req.contains("width") || !req["height"].is_number_integer() ||
        !req["width"].is_number_integer())
        return false;
    const int64_t hh = req["height"].get<int64_t>(), ww = req["width"].get<int64_t>();
    if (hh < 1 || ww < 1 || hh > k_max_side || ww > k_max_side) return false;
    h = (int)hh;
    w = (int)ww;
    return true;
}

struct session {
    std::unique_ptr<sam::amg_generator> gen;
    std::chrono::steady_clock::time_point started;
    std::vector<float> payload;

    json everything(const json &req) {
        int h = 0, w = 0;
        if (!get_size(req, h, w)) return json{{"ok", false}, {"error", "everything: needs integer height and width in 1..100000"}};
        sam::amg_params p;
        sam::status st = read_params(req.contains("params") ? req["params"] : json(), p);
        if (!st) return json{{"ok", false}, {"error", "everything: " + st.message}};
        gen.reset(new sam::amg_generator(p, h, w));
        started = std::chrono::steady_clock::now();
        json crops = json::array(), sizes = json::array(), points = json::array();
        for (size_t c = 0; c < gen->crop_boxes().size(); c++) {
            const sam::box_xyxy &b = gen->crop_boxes()[c];
            crops.push_back({b.x0, b.y0, b.x1, b.y1});
            const sam::image_shape in = gen->crop_input_size((int)c);
            sizes.push_back({in.height, in.width});
            points.push_back(gen->crop_points_1024((int)c));
        }
        return json{{"ok", true}, {"crops", crops}, {"input_sizes", sizes}, {"points", points},
                    {"points_per_batch", p.points_per_batch}, {"params", params_json(p)}};
    }

    json batch(const json &req, const std::vector<float> &data) {
        if (!gen) return json{{"ok", false}, {"error", "batch: no \"everything\" request before it"}};
        auto int_field = [&](const char *k, int64_t &v) {
            if (!req.contains(k) || !req[k].is_number_integer()) return false;
            v = req[k].get<int64_t>();
            return v >= 0 && v < (int64_t)1 << 31;
        };
        int64_t crop = 0, first = 0, n = 0, channels = 4;
        if (!int_field("crop", crop) || !int_field("first", first) || !int_field("n", n) ||
            (req.contains("channels") && !int_field("channels", channels)))
            return json{{"ok", false}, {"error", "batch: crop, first, n (and channels) must be non-negative integers"}};
        const size_t plane = (size_t)sam::low_res_mask_size * sam::low_res_mask_size;
        const size_t want = (size_t)n * channels * (1 + plane);
        if (data.size() != want)
            return json{{"ok", false},
                        {"error", "batch: payload has " + std::to_string(data.size()) + " floats, expected " +
                                      std::to_string(want) + " (n x channels iou + n x channels x 256 x 256 masks)"}};
        const size_t before = gen->stats().passed_crop_edge;
        sam::status st = gen->add_batch((int)crop, (size_t)first, (size_t)n, data.data(),
                                        data.data() + (size_t)n * channels, (int)channels);
        if (!st) return json{{"ok", false}, {"error", st.message}};
        return json{{"ok", true}, {"kept", gen->stats().passed_crop_edge - before}};
    }

    json finish() {
        if (!gen) return json{{"ok", false}, {"error", "finish: no \"everything\" request before it"}};
        std::vector<sam::amg_record> recs = gen->finish();
        json anns = json::array();
        for (const sam::amg_record &r : recs) {
            anns.push_back(json{{"segmentation", rle_json(r.segmentation)},
                                {"area", r.area},
                                {"bbox", xywh(r.bbox)},
                                {"predicted_iou", r.predicted_iou},
                                {"point_coords", json::array({json::array({r.point_coords[0], r.point_coords[1]})})},
                                {"stability_score", r.stability_score},
                                {"crop_box", xywh(r.crop_box)}});
        }
        const sam::amg_stats &s = gen->stats();
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        json out{{"ok", true},
                 {"annotations", anns},
                 {"stats", {{"masks_seen", s.masks_seen}, {"passed_iou", s.passed_iou},
                            {"passed_stability", s.passed_stability}, {"passed_crop_edge", s.passed_crop_edge},
                            {"kept", recs.size()}, {"seconds", secs}}}};
        gen.reset();
        return out;
    }

    json box(const json &req) {
        int h = 0, w = 0;
        if (!get_size(req, h, w)) return json{{"ok", false}, {"error", "box: needs integer height and width in 1..100000"}};
        const json *b = req.contains("bbox") ? &req["bbox"] : nullptr;
        double xyxy[4];
        bool ok = b && b->is_array() && b->size() == 4;
        for (int k = 0; ok && k < 4; k++) {
            ok = (*b)[k].is_number() && std::isfinite((*b)[k].get<double>());
            if (ok) xyxy[k] = (*b)[k].get<double>();
        }
        if (!ok) return json{{"ok", false}, {"error", "box: bbox must be 4 numbers [x, y, w, h]"}};
        xyxy[2] += xyxy[0];
        xyxy[3] += xyxy[1];
        sam::apply_boxes(xyxy, 1, sam::image_shape{h, w});
        return json{{"ok", true},
                    {"point_coords", {(float)xyxy[0], (float)xyxy[1], (float)xyxy[2], (float)xyxy[3]}},
                    {"point_labels", {2, 3}}};
    }

    json box_mask(const json &req, const std::vector<float> &data) {
        int h = 0, w = 0;
        if (!get_size(req, h, w)) return json{{"ok", false}, {"error", "box_mask: needs integer height and width in 1..100000"}};
        int64_t channels = 1;
        if (req.contains("channels")) {
            if (!req["channels"].is_number_integer()) return json{{"ok", false}, {"error", "box_mask: channels must be an integer"}};
            channels = req["channels"].get<int64_t>();
        }
        if (channels < 1 || channels > 16) return json{{"ok", false}, {"error", "box_mask: channels must be in 1..16"}};
        const size_t plane = (size_t)sam::low_res_mask_size * sam::low_res_mask_size;
        if (data.size() != (size_t)channels * (1 + plane))
            return json{{"ok", false}, {"error", "box_mask: payload has " + std::to_string(data.size()) +
                                                     " floats, expected channels x (1 + 256 x 256)"}};
        const sam::image_shape in = sam::get_preprocess_shape(h, w);
        sam::binary_mask m = sam::postprocess_to_mask(data.data() + channels, in.height, in.width, h, w);
        sam::rle r = sam::mask_to_rle(m);
        return json{{"ok", true}, {"segmentation", rle_json(r)}, {"area", sam::rle_area(r)},
                    {"bbox", xywh(sam::rle_to_bbox(r))}, {"predicted_iou", data[0]}};
    }

    json crop_input(const json &req) {
        const std::string image = str_field(req, "image"), out = str_field(req, "out");
        const json *c = req.contains("crop") ? &req["crop"] : nullptr;
        int b[4];
        bool ok = !image.empty() && !out.empty() && c && c->is_array() && c->size() == 4;
        for (int k = 0; ok && k < 4; k++) {
            ok = (*c)[k].is_number_integer() && std::llabs((*c)[k].get<int64_t>()) <= k_max_side;
            if (ok) b[k] = (int)(*c)[k].get<int64_t>();
        }
        if (!ok) return fail("crop_input: needs \"image\", \"out\" and integer \"crop\": [x0, y0, x1, y1]");
        std::string bytes;
        if (!read_text(image, bytes)) return fail(image + ": cannot read");
        sam::image_u8 img;
        sam::status st = sam::decode_image((const uint8_t *)bytes.data(), bytes.size(), image, img);
        if (!st) return fail(st.message);
        if (b[0] < 0 || b[1] < 0 || b[2] > img.width || b[3] > img.height || b[2] <= b[0] || b[3] <= b[1])
            return fail("crop_input: crop [" + std::to_string(b[0]) + ", " + std::to_string(b[1]) + ", " +
                        std::to_string(b[2]) + ", " + std::to_string(b[3]) + "] is not inside the " +
                        std::to_string(img.width) + "x" + std::to_string(img.height) + " image " + image);
        sam::image_u8 crop;
        crop.width = b[2] - b[0];
        crop.height = b[3] - b[1];
        crop.channels = img.channels;
        crop.pixels.resize((size_t)crop.width * crop.height * crop.channels);
        const size_t row = (size_t)crop.width * crop.channels;
        for (int y = 0; y < crop.height; y++) std::memcpy(crop.at(0, y), img.at(b[0], b[1] + y), row);
        std::vector<float> tensor((size_t)3 * sam::encoder_image_size * sam::encoder_image_size);
        sam::image_shape in;
        st = sam::preprocess(crop, tensor.data(), &in);
        if (!st) return fail(st.message);
        FILE *f = std::fopen(out.c_str(), "wb");
        if (!f) return fail(out + ": cannot write");
        const size_t written = std::fwrite(tensor.data(), sizeof(float), tensor.size(), f);
        if (std::fclose(f) != 0 || written != tensor.size()) return fail(out + ": short write");
        return json{{"ok", true}, {"input_h", in.height}, {"input_w", in.width}};
    }

    // ---- detector boxes -> COCO ---------------------------------------------------------
    struct pending_box {
        int64_t image_id;  // document (= manifest) id
        sam::detector_box box;
    };
    std::unique_ptr<sam::annotation_document> doc;
    std::vector<pending_box> pending;
    json empty_list, tiny_list;

    static bool read_text(const std::string &path, std::string &out) {
        std::ifstream f(path, std::ios::binary);
        if (!f) return false;
        out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        return !f.bad();
    }
    static std::string last_part(const std::string &p) {
        const size_t k = p.find_last_of("/\\");
        return k == std::string::npos ? p : p.substr(k + 1);
    }
    static std::string stem(const std::string &p) {
        std::string b = last_part(p);
        const size_t dot = b.find_last_of('.');
        return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
    }

    json fail(const std::string &m) { return json{{"ok", false}, {"error", m}}; }

    json boxes_load(const json &req) {
        const std::string format = str_field(req, "format"), path = str_field(req, "path");
        if ((format != "coco" && format != "yolo") || path.empty())
            return fail("boxes_load: needs \"format\": \"coco\" or \"yolo\" and a \"path\"");
        if (!req.contains("images") || !req["images"].is_array()) return fail("boxes_load: needs the manifest \"images\"");
        doc.reset(new sam::annotation_document());
        pending.clear();
        empty_list = json::array();
        tiny_list = json::array();
        std::map<std::string, int64_t> by_file, by_last;
        std::map<std::string, std::vector<int64_t>> by_stem;
        std::map<int64_t, const sam::doc_image *> sizes;
        for (const json &im : req["images"]) {
            sam::doc_image d;
            if (!im.is_object() || !im.contains("id") || !im["id"].is_number_integer() || !im.contains("file") ||
                !im["file"].is_string() || !im.contains("width") || !im["width"].is_number_integer() ||
                !im.contains("height") || !im["height"].is_number_integer())
                return fail("boxes_load: each image needs id, file, width, height");
            d.id = im["id"].get<int64_t>();
            d.file_name = im["file"].get<std::string>();
            d.width = im["width"].get<int>();
            d.height = im["height"].get<int>();
            sam::status st = doc->add_image(d);
            if (!st) return fail("boxes_load: " + st.message);
            by_file[d.file_name] = d.id;
            by_last[last_part(d.file_name)] = d.id;
            by_stem[stem(d.file_name)].push_back(d.id);
        }
        for (const sam::doc_image &im : doc->images()) sizes[im.id] = &im;

        std::vector<std::string> problems;
        std::vector<sam::detector_box> boxes;
        std::vector<sam::detector_category> categories;
        std::vector<std::string> unmatched;
        std::vector<int64_t> box_image;  // parallel to boxes: document image id, 0 = unmatched
        if (format == "coco") {
            std::string text;
            if (!read_text(path, text)) return fail(path + ": cannot read");
            sam::detector_boxes d;
            sam::status st = sam::parse_coco_boxes(text, path, d, problems);
            if (!st) return fail(st.message);
            categories = d.categories;
            std::map<std::string, bool> missing;
            for (const sam::detector_box &b : d.boxes) {
                int64_t id = 0;
                if (!b.image.empty()) {
                    auto it = by_file.find(b.image);
                    auto jt = by_last.find(last_part(b.image));
                    if (it != by_file.end()) id = it->second;
                    else if (jt != by_last.end()) id = jt->second;
                } else if (sizes.count(b.image_id)) {
                    id = b.image_id;
                }
                if (!id) {
                    std::string name = b.image.empty() ? "image_id " + std::to_string(b.image_id) : b.image;
                    if (!missing[name]) unmatched.push_back(name);
                    missing[name] = true;
                    continue;
                }
                boxes.push_back(b);
                box_image.push_back(id);
            }
        } else {
            std::error_code ec;
            if (!std::filesystem::is_directory(path, ec)) return fail(path + ": not a folder of YOLO .txt files");
            std::string classes_path = req.contains("classes") && req["classes"].is_string() ? req["classes"].get<std::string>() : "";
            for (const char *guess : {"classes.txt", "obj.names"}) {
                if (!classes_path.empty()) break;
                std::filesystem::path p = std::filesystem::path(path) / guess;
                if (std::filesystem::is_regular_file(p, ec)) classes_path = p.string();
            }
            std::vector<std::string> classes;
            if (!classes_path.empty()) {
                std::string text;
                if (!read_text(classes_path, text)) return fail(classes_path + ": cannot read the class list");
                classes = sam::parse_yolo_classes(text);
                for (size_t k = 0; k < classes.size(); k++)
                    categories.push_back({(int64_t)k + 1, classes[k].empty() ? "class " + std::to_string(k) : classes[k]});
            }
            std::vector<std::filesystem::path> files;
            for (auto it = std::filesystem::directory_iterator(path, ec); !ec && it != std::filesystem::directory_iterator();
                 it.increment(ec)) {
                const std::filesystem::path p = it->path();
                if (p.extension() == ".txt" && p.filename() != "classes.txt" && it->is_regular_file(ec)) files.push_back(p);
            }
            if (ec) return fail(path + ": cannot list: " + ec.message());
            std::sort(files.begin(), files.end());
            for (const std::filesystem::path &p : files) {
                const std::string s = p.stem().string();
                auto it = by_stem.find(s);
                if (it == by_stem.end() || it->second.size() != 1) {
                    unmatched.push_back(p.filename().string() + (it == by_stem.end() ? "" : " (several images share the stem)"));
                    continue;
                }
                const sam::doc_image *im = sizes[it->second[0]];
                std::string text;
                if (!read_text(p.string(), text)) {
                    problems.push_back(p.string() + ": cannot read; skipped");
                    continue;
                }
                const size_t before = boxes.size();
                sam::parse_yolo_boxes(text, p.string(), im->file_name, im->width, im->height, classes, boxes, problems);
                box_image.resize(boxes.size(), im->id);
                (void)before;
            }
        }

        // Categories: the detector's ids and names; ids it uses without naming them get one.
        static const sam::rgb8 palette[] = {{230, 25, 75}, {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                                            {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230}};
        for (const sam::detector_category &c : categories) {
            if (doc->find_category(c.id)) continue;
            sam::status st = doc->add_category(c.name, palette[doc->categories().size() % 8], nullptr, c.id);
            if (!st) problems.push_back(path + ": category " + std::to_string(c.id) + ": " + st.message);
        }
        json jobs = json::array();
        std::map<int64_t, size_t> job_of;
        for (size_t k = 0; k < boxes.size(); k++) {
            sam::detector_box &b = boxes[k];
            const sam::doc_image *im = sizes[box_image[k]];
            if (!sam::clip_box_to_image(b.bbox, im->width, im->height)) {
                problems.push_back(path + ": a box on " + im->file_name + " lies outside the image; skipped");
                continue;
            }
            if (!doc->find_category(b.category_id)) {
                sam::status st = doc->add_category("category " + std::to_string(b.category_id),
                                                   palette[doc->categories().size() % 8], nullptr, b.category_id);
                if (!st) {
                    problems.push_back(path + ": category " + std::to_string(b.category_id) + ": " + st.message);
                    continue;
                }
            }
            double xyxy[4] = {b.bbox[0], b.bbox[1], b.bbox[0] + b.bbox[2], b.bbox[1] + b.bbox[3]};
            sam::apply_boxes(xyxy, 1, sam::image_shape{im->height, im->width});
            auto j = job_of.find(im->id);
            if (j == job_of.end()) {
                j = job_of.emplace(im->id, jobs.size()).first;
                jobs.push_back(json{{"image_id", im->id}, {"file", im->file_name}, {"boxes", json::array()}});
            }
            jobs[j->second]["boxes"].push_back(
                json{{"index", pending.size()},
                     {"point_coords", {(float)xyxy[0], (float)xyxy[1], (float)xyxy[2], (float)xyxy[3]}}});
            pending.push_back({im->id, b});
        }
        return json{{"ok", true}, {"jobs", jobs}, {"problems", problems}, {"unmatched", unmatched},
                    {"boxes", pending.size()}};
    }

    json boxes_mask(const json &req, const std::vector<float> &data) {
        if (!doc) return fail("boxes_mask: no \"boxes_load\" before it");
        if (!req.contains("index") || !req["index"].is_number_unsigned() || req["index"].get<uint64_t>() >= pending.size())
            return fail("boxes_mask: index out of range");
        const pending_box &p = pending[req["index"].get<size_t>()];
        int64_t channels = 1;
        if (req.contains("channels")) channels = req["channels"].is_number_integer() ? req["channels"].get<int64_t>() : -1;
        const size_t plane = (size_t)sam::low_res_mask_size * sam::low_res_mask_size;
        if (channels < 1 || channels > 16 || data.size() != (size_t)channels * (1 + plane))
            return fail("boxes_mask: payload must be channels x (1 + 256 x 256) floats, channels 1..16");
        const sam::doc_image *im = doc->find_image(p.image_id);
        const sam::image_shape in = sam::get_preprocess_shape(im->height, im->width);
        sam::annotation a;
        a.image_id = p.image_id;
        a.category_id = p.box.category_id;
        a.mask = sam::mask_to_rle(sam::postprocess_to_mask(data.data() + channels, in.height, in.width, im->height, im->width));
        a.score = p.box.has_score ? p.box.score : data[0];
        a.source = sam::annotation_source::machine;
        a.prompts.has_box = true;
        a.prompts.box_xyxy[0] = p.box.bbox[0];
        a.prompts.box_xyxy[1] = p.box.bbox[1];
        a.prompts.box_xyxy[2] = p.box.bbox[0] + p.box.bbox[2];
        a.prompts.box_xyxy[3] = p.box.bbox[1] + p.box.bbox[3];
        const uint64_t area = sam::rle_area(a.mask);
        const bool empty = area == 0;
        const bool tiny = !empty && (area < 16 || (double)area < 0.05 * p.box.bbox[2] * p.box.bbox[3]);
        const sam::doc_category *cat = doc->find_category(p.box.category_id);
        json item{{"image", im->file_name},
                  {"bbox", {p.box.bbox[0], p.box.bbox[1], p.box.bbox[2], p.box.bbox[3]}},
                  {"category", cat ? cat->name : ""},
                  {"area", area}};
        if (empty) {
            empty_list.push_back(item);
        } else {
            if (tiny) tiny_list.push_back(item);
            sam::status st = doc->add_annotation(std::move(a));
            if (!st) return fail("boxes_mask: " + st.message);
        }
        return json{{"ok", true}, {"area", area}, {"empty", empty}, {"tiny", tiny}, {"predicted_iou", data[0]}};
    }

    json boxes_write(const json &req) {
        if (!doc) return fail("boxes_write: no \"boxes_load\" before it");
        const std::string path = str_field(req, "path");
        if (path.empty()) return fail("boxes_write: needs a \"path\"");
        sam::coco_export_options opt;
        const std::string seg = req.contains("segmentation") ? str_field(req, "segmentation") : "polygons";
        if (seg == "rle") opt.segmentation = sam::coco_segmentation::rle;
        else if (seg != "polygons") return fail("boxes_write: segmentation must be \"polygons\" or \"rle\"");
        const std::string text = sam::coco_export(*doc, opt);
        const std::string tmp = path + ".tmp";
        {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            f << text;
            f.flush();
            if (!f) return fail(tmp + ": cannot write");
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) return fail(path + ": cannot rename into place: " + ec.message());
        json out{{"ok", true}, {"annotations", doc->annotations().size()}, {"empty", empty_list}, {"tiny", tiny_list}};
        doc.reset();
        pending.clear();
        return out;
    }
};

// Reads the request's payload ("bytes" raw bytes) into `out`; false when it cannot be
// read whole (EOF): the stream is then over.
bool read_payload(const json &req, std::vector<float> &out, std::string &error) {
    out.clear();
    if (!req.contains("bytes")) return true;
    if (!req["bytes"].is_number_unsigned() || req["bytes"].get<uint64_t>() > k_max_payload ||
        req["bytes"].get<uint64_t>() % 4 != 0) {
        error = "\"bytes\" must be a multiple of 4 up to 2 GiB";
        return false;
    }
    const uint64_t n = req["bytes"].get<uint64_t>();
    out.resize(n / 4);
    std::cin.read(reinterpret_cast<char *>(out.data()), (std::streamsize)n);
    if ((uint64_t)std::cin.gcount() != n) {
        error = "payload truncated: got " + std::to_string(std::cin.gcount()) + " of " + std::to_string(n) + " bytes";
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2 || std::strcmp(argv[1], "--stdin") != 0) {
        std::fprintf(stderr, "usage: sam_amg --stdin   (JSON-line requests with float32 payloads; see the source header)\n");
        return 2;
    }
    std::ios::sync_with_stdio(false);
    session s;
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.empty()) continue;
        json req = json::parse(line, nullptr, false);
        if (req.is_discarded() || !req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
            std::cout << json{{"ok", false}, {"error", "request is not a JSON object with \"cmd\""}}.dump() << std::endl;
            return 1;
        }
        std::string error;
        if (!read_payload(req, s.payload, error)) {
            std::cout << json{{"ok", false}, {"error", error}}.dump() << std::endl;
            return 1;
        }
        const std::string cmd = req["cmd"].get<std::string>();
        json reply;
        if (cmd == "everything") reply = s.everything(req);
        else if (cmd == "batch") reply = s.batch(req, s.payload);
        else if (cmd == "finish") reply = s.finish();
        else if (cmd == "box") reply = s.box(req);
        else if (cmd == "box_mask") reply = s.box_mask(req, s.payload);
        else if (cmd == "crop_input") reply = s.crop_input(req);
        else if (cmd == "boxes_load") reply = s.boxes_load(req);
        else if (cmd == "boxes_mask") reply = s.boxes_mask(req, s.payload);
        else if (cmd == "boxes_write") reply = s.boxes_write(req);
        else reply = json{{"ok", false}, {"error", "unknown cmd \"" + cmd + "\""}};
        std::cout << reply.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    }
    return 0;
}
