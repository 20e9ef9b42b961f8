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
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/automatic_mask_generator.h"
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
        else reply = json{{"ok", false}, {"error", "unknown cmd \"" + cmd + "\""}};
        std::cout << reply.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    }
    return 0;
}
