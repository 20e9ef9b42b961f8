#include "core/mask_proposals.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace sam {

using nlohmann::json;

namespace {

const char *type_name(const json &j) { return j.type_name(); }

bool get_number(const json &o, const char *key, double &v) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_number()) return false;
    v = it->get<double>();
    return std::isfinite(v);
}

// segmentation: {"size": [h, w], "counts": string (compressed) or list of runs}
status parse_segmentation(const json &s, int height, int width, rle &out) {
    if (!s.is_object()) return status::failure(std::string("expected a COCO RLE object, got ") + type_name(s));
    auto size = s.find("size");
    if (size == s.end() || !size->is_array() || size->size() != 2 || !(*size)[0].is_number_integer() ||
        !(*size)[1].is_number_integer())
        return status::failure("size: expected [height, width]");
    const int64_t h = (*size)[0].get<int64_t>(), w = (*size)[1].get<int64_t>();
    if (h != height || w != width)
        return status::failure("size is [" + std::to_string(h) + ", " + std::to_string(w) + "] but the image is " +
                               std::to_string(height) + "x" + std::to_string(width) + " (HxW)");
    auto counts = s.find("counts");
    if (counts == s.end()) return status::failure("counts: missing");
    if (counts->is_string()) {
        status st = rle_from_string(counts->get<std::string>(), height, width, out);
        if (!st) return status::failure("counts: " + st.message);
        return status::success();
    }
    if (!counts->is_array()) return status::failure(std::string("counts: expected a string or a list, got ") + type_name(*counts));
    rle r;
    r.height = height;
    r.width = width;
    uint64_t sum = 0;
    for (const json &c : *counts) {
        if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() > (int64_t)UINT32_MAX)
            return status::failure("counts: expected non-negative integers");
        r.counts.push_back((uint32_t)c.get<int64_t>());
        sum += r.counts.back();
    }
    if (sum != (uint64_t)height * (uint64_t)width)
        return status::failure("counts: sum to " + std::to_string(sum) + ", expected " +
                               std::to_string((uint64_t)height * (uint64_t)width));
    out = std::move(r);
    return status::success();
}

}  // namespace

status parse_mask_proposals(const std::string &text, const std::string &name, int width, int height,
                            mask_proposals &out) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return status::failure(name + ": not valid JSON");
    if (!j.is_object()) return status::failure(name + ": expected a JSON object, got " + type_name(j));
    auto fail = [&](const std::string &where, const std::string &what) {
        return status::failure(name + ": " + where + ": " + what);
    };
    auto v = j.find("version");
    if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != 1)
        return fail("version", "expected 1 (written by scripts/embed --everything)");
    double fw = 0, fh = 0;
    if (!get_number(j, "width", fw) || !get_number(j, "height", fh) || fw < 1 || fh < 1 || fw != std::floor(fw) ||
        fh != std::floor(fh))
        return fail("width/height", "expected positive integers");
    if ((width > 0 || height > 0) && ((int)fw != width || (int)fh != height))
        return status::failure(name + ": made for a " + std::to_string((int)fw) + "x" + std::to_string((int)fh) +
                               " image but the image is " + std::to_string(width) + "x" + std::to_string(height));
    mask_proposals result;
    result.width = (int)fw;
    result.height = (int)fh;
    if (auto im = j.find("image"); im != j.end() && im->is_string()) result.image = im->get<std::string>();
    auto anns = j.find("annotations");
    if (anns == j.end() || !anns->is_array()) return fail("annotations", "expected a list");
    for (size_t i = 0; i < anns->size(); ++i) {
        const json &a = (*anns)[i];
        const std::string where = "annotations[" + std::to_string(i) + "]";
        if (!a.is_object()) return fail(where, std::string("expected an object, got ") + type_name(a));
        mask_proposal p;
        auto seg = a.find("segmentation");
        if (seg == a.end()) return fail(where + ".segmentation", "missing");
        status st = parse_segmentation(*seg, result.height, result.width, p.segmentation);
        if (!st) return fail(where + ".segmentation", st.message);
        if (!get_number(a, "predicted_iou", p.predicted_iou)) return fail(where + ".predicted_iou", "expected a number");
        if (a.contains("stability_score") && !get_number(a, "stability_score", p.stability_score))
            return fail(where + ".stability_score", "expected a number");
        if (auto pc = a.find("point_coords"); pc != a.end()) {
            // the official record: [[x, y]]
            const json *xy = pc->is_array() && pc->size() == 1 && (*pc)[0].is_array() ? &(*pc)[0] : &*pc;
            if (!xy->is_array() || xy->size() != 2 || !(*xy)[0].is_number() || !(*xy)[1].is_number())
                return fail(where + ".point_coords", "expected [[x, y]]");
            p.point[0] = (*xy)[0].get<double>();
            p.point[1] = (*xy)[1].get<double>();
            p.has_point = std::isfinite(p.point[0]) && std::isfinite(p.point[1]);
        }
        p.area = rle_area(p.segmentation);
        p.bbox = rle_to_bbox(p.segmentation);
        result.proposals.push_back(std::move(p));
    }
    out = std::move(result);
    return status::success();
}

}  // namespace sam
