// png_masks.cpp - see png_masks.h.
#include "core/png_masks.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace sam {

namespace {

using ojson = nlohmann::ordered_json;

// Calls f(x, y0, y1) for each column piece [y0, y1) of ones of `r` (column-major runs).
template <typename F>
void for_each_run(const rle &r, F f) {
    const uint64_t h = (uint64_t)r.height;
    uint64_t pos = 0;
    for (size_t i = 0; i < r.counts.size(); i++) {
        if (i % 2 == 1) {
            for (uint64_t p = pos, left = r.counts[i]; left > 0 && h > 0;) {
                const uint64_t row = p % h, take = std::min(left, h - row);
                f((int)(p / h), (int)row, (int)(row + take));
                p += take;
                left -= take;
            }
        }
        pos += r.counts[i];
    }
}

ojson color_json(rgb8 c) { return ojson::array({c.r, c.g, c.b}); }

}  // namespace

status png_masks_render(const annotation_document &doc, int64_t image_id, const png_masks_options &opt,
                        png_masks_image &out) {
    const doc_image *im = doc.find_image(image_id);
    if (!im) return status::failure("png masks: no image with id " + std::to_string(image_id));
    std::vector<const annotation *> anns;
    for (const annotation &a : doc.annotations())
        if (a.image_id == image_id) anns.push_back(&a);
    return png_masks_render(doc, *im, anns, opt, out);
}

status png_masks_render(const annotation_document &doc, const doc_image &image,
                        const std::vector<const annotation *> &annotations, const png_masks_options &opt,
                        png_masks_image &out) {
    const doc_image *im = &image;
    const int64_t image_id = image.id;
    if (doc.categories().size() > 255)
        return status::failure("png masks: " + std::to_string(doc.categories().size()) +
                               " categories do not fit the 8-bit semantic map (at most 255)");
    std::unordered_map<int64_t, uint32_t> class_value;
    for (size_t i = 0; i < doc.categories().size(); i++) class_value[doc.categories()[i].id] = (uint32_t)i + 1;

    out = png_masks_image();
    out.image_id = image_id;
    out.width = im->width;
    out.height = im->height;
    std::vector<const annotation *> anns;
    for (const annotation *a : annotations) {
        if (a->image_id != image_id || (a->hidden && !opt.include_hidden) || a->area <= 0) continue;
        if (a->mask.width != im->width || a->mask.height != im->height || !class_value.count(a->category_id)) continue;
        anns.push_back(a);
    }
    if (anns.size() > 65535)
        return status::failure("png masks: " + im->file_name + ": " + std::to_string(anns.size()) +
                               " instances do not fit the 16-bit instance map (at most 65535)");
    const size_t n_px = (size_t)im->width * (size_t)im->height;
    out.instances.assign(n_px, 0);
    out.semantic.assign(n_px, 0);
    out.legend.resize(anns.size());
    std::vector<size_t> order(anns.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return anns[a]->area > anns[b]->area; });
    for (size_t i = 0; i < anns.size(); i++) {
        png_masks_instance &e = out.legend[i];
        e.id = (uint32_t)i + 1;
        e.annotation_id = anns[i]->id;
        e.category_id = anns[i]->category_id;
        e.class_value = class_value[anns[i]->category_id];
        e.area = rle_area(anns[i]->mask);
    }
    const int w = im->width;
    for (size_t k : order) {
        const uint16_t id = (uint16_t)(k + 1);
        const uint8_t cls = (uint8_t)out.legend[k].class_value;
        for_each_run(anns[k]->mask, [&](int x, int y0, int y1) {
            for (int y = y0; y < y1; y++) {
                const size_t i = (size_t)y * w + x;
                out.instances[i] = id;
                out.semantic[i] = cls;
            }
        });
    }
    std::vector<uint64_t> visible(anns.size() + 1, 0);
    for (uint16_t v : out.instances) visible[v]++;
    for (size_t i = 0; i < anns.size(); i++) out.legend[i].visible_area = visible[i + 1];
    return status::success();
}

std::string png_masks_legend(const annotation_document &doc, const std::vector<png_masks_image> &images,
                             const std::vector<std::string> &stems, int instance_bit_depth) {
    ojson root;
    root["format"] = "png_masks";
    root["version"] = 1;
    root["instance_maps"] = {
        {"folder", "instances"},
        {"bit_depth", instance_bit_depth},
        {"pixel", "instance id within the image (images[].instances[].id); 0 = background"},
        {"overlap", "where masks overlap the smaller mask is on top; visible_area counts what shows"}};
    root["semantic_maps"] = {{"folder", "semantic"},
                             {"bit_depth", 8},
                             {"pixel", "class value (classes[].value): category position + 1; 0 = background"}};
    ojson classes = ojson::array();
    classes.push_back({{"value", 0}, {"name", "background"}, {"color", ojson::array({0, 0, 0})}});
    std::unordered_map<int64_t, std::string> cat_name;
    for (size_t i = 0; i < doc.categories().size(); i++) {
        const doc_category &c = doc.categories()[i];
        cat_name[c.id] = c.name;
        classes.push_back({{"value", i + 1}, {"category_id", c.id}, {"name", c.name}, {"color", color_json(c.color)}});
    }
    root["classes"] = std::move(classes);
    std::unordered_map<int64_t, size_t> image_index;
    for (size_t i = 0; i < doc.images().size(); i++) image_index[doc.images()[i].id] = i;
    ojson ims = ojson::array();
    for (const png_masks_image &m : images) {
        auto idx = image_index.find(m.image_id);
        if (idx == image_index.end()) continue;
        const doc_image &im = doc.images()[idx->second];
        const std::string &stem = stems[idx->second];
        ojson o;
        o["id"] = im.id;
        o["file_name"] = im.file_name;
        o["width"] = im.width;
        o["height"] = im.height;
        o["instance_map"] = "instances/" + stem + ".png";
        o["semantic_map"] = "semantic/" + stem + ".png";
        ojson inst = ojson::array();
        for (const png_masks_instance &e : m.legend) {
            const annotation *a = doc.find_annotation(e.annotation_id);
            ojson j;
            j["id"] = e.id;
            j["annotation_id"] = e.annotation_id;
            j["category_id"] = e.category_id;
            j["category"] = cat_name[e.category_id];
            j["class_value"] = e.class_value;
            j["area"] = e.area;
            j["visible_area"] = e.visible_area;
            if (a) {
                j["score"] = a->score;
                j["source"] = annotation_source_name(a->source);
            }
            inst.push_back(std::move(j));
        }
        o["instances"] = std::move(inst);
        ims.push_back(std::move(o));
    }
    root["images"] = std::move(ims);
    return root.dump(1, ' ', false, ojson::error_handler_t::replace) + "\n";
}

}  // namespace sam
