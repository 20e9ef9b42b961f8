// Tests of the app's document record (which save units each edit, undo and redo
// touched) and of the annotation overlay's incremental repaint (always equal to a
// repaint from scratch, and proportional to the edit).
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "app/annotation_overlay.h"
#include "app/document.h"
#include "core/rle.h"

using namespace sam;

namespace {

rle disc_mask(int w, int h, double cx, double cy, double r) {
    binary_mask m(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) m.at(x, y) = 1;
    return mask_to_rle(m);
}

document_state two_images() {
    document_state d;
    REQUIRE(document_reset(d, {doc_image{1, "a.jpg", 120, 80}, doc_image{2, "b/c.jpg", 120, 80}}));
    document_ensure_category(d);
    document_clear_history(d);
    document_take_changes(d);
    return d;
}

int64_t add(document_state &d, int64_t image, double cx, double cy, double r) {
    annotation a;
    a.image_id = image;
    a.category_id = d.current_category;
    a.mask = disc_mask(120, 80, cx, cy, r);
    int64_t id = 0;
    REQUIRE(document_add_annotation(d, a, &id));
    return id;
}

}  // namespace

TEST_CASE("app document: an edit marks only its image's unit; undo and redo mark it again") {
    document_state d = two_images();
    const int64_t id = add(d, 2, 40, 40, 10);
    unit_changes c = document_take_changes(d);
    CHECK(c.images == std::set<int64_t>{2});
    CHECK_FALSE(c.categories);
    CHECK(document_take_changes(d).empty());

    REQUIRE(document_set_hidden(d, id, true));
    CHECK(document_take_changes(d).images == std::set<int64_t>{2});
    REQUIRE(document_add_category(d, "tree", rgb8{1, 2, 3}));
    c = document_take_changes(d);
    CHECK(c.categories);
    CHECK(c.images.empty());

    REQUIRE(document_undo(d));  // the category
    c = document_take_changes(d);
    CHECK(c.categories);
    CHECK(c.images.empty());
    REQUIRE(document_undo(d));  // hidden
    CHECK(document_take_changes(d).images == std::set<int64_t>{2});
    REQUIRE(document_redo(d));
    CHECK(document_take_changes(d).images == std::set<int64_t>{2});
    // a no-op edit records nothing
    REQUIRE(document_set_hidden(d, id, true));
    CHECK(document_take_changes(d).empty());
}

TEST_CASE("app document: a group touching two images is one step marking both") {
    document_state d = two_images();
    document_begin_group(d, "two");
    add(d, 1, 20, 20, 5);
    add(d, 2, 20, 20, 5);
    document_end_group(d);
    CHECK(d.doc.undo_depth() == 1);
    CHECK(document_take_changes(d).images == std::set<int64_t>{1, 2});
    REQUIRE(document_undo(d));
    CHECK(d.doc.annotations().empty());
    CHECK(document_take_changes(d).images == std::set<int64_t>{1, 2});
}

TEST_CASE("app document: a COCO import marks the images that got annotations") {
    document_state d = two_images();
    const std::string coco =
        R"({"images":[{"id":9,"file_name":"c.jpg","width":120,"height":80}],"categories":[{"id":4,"name":"x"}],)"
        R"("annotations":[{"id":1,"image_id":9,"category_id":4,"bbox":[1,1,4,4],"area":16,"iscrowd":0,)"
        R"("segmentation":[[1,1,5,1,5,5,1,5]]}]})";
    coco_import_options o;
    o.add_unknown_images = false;
    o.match_base_name = true;
    coco_import_report rep;
    REQUIRE(document_import(d, coco, "x.json", o, rep));
    unit_changes c = document_take_changes(d);
    CHECK(c.images == std::set<int64_t>{2});
    CHECK(c.categories);
    REQUIRE(document_undo(d));
    CHECK(document_take_changes(d).images == std::set<int64_t>{2});
}

TEST_CASE("app document: units round-trip through their text") {
    document_state d = two_images();
    const int64_t a = add(d, 2, 30, 30, 8);
    add(d, 1, 60, 40, 12);
    REQUIRE(document_set_hidden(d, a, true));
    const std::string unit = document_image_unit(d, 2), cats = document_categories_unit(d);
    document_state e;
    REQUIRE(document_reset(e, d.doc.images()));
    coco_import_report rep;
    REQUIRE(document_import(e, document_assemble_units(e, cats, {{"b/c.jpg", unit}}), "units", {}, rep));
    REQUIRE(e.doc.annotations().size() == 1);
    const annotation &got = e.doc.annotations()[0];
    CHECK(got.image_id == 2);
    CHECK(got.hidden);
    CHECK(got.mask.counts == d.doc.find_annotation(a)->mask.counts);
    CHECK(e.doc.categories().size() == d.doc.categories().size());
    CHECK(e.doc.categories()[0].color == d.doc.categories()[0].color);
}

TEST_CASE("app document: an image's unit text is what coco_export writes for its annotations, edit after edit") {
    document_state d = two_images();
    const int64_t a = add(d, 1, 30, 30, 8);
    add(d, 2, 60, 40, 12);
    const int64_t c = add(d, 1, 90.5, 20, 6.3);
    auto expected = [&](int64_t image) {
        coco_export_options o = coco_lossless_options();
        o.image_id = image;
        return nlohmann::ordered_json::parse(coco_export(d.doc, o))["annotations"].dump();
    };
    for (int step = 0; step < 4; ++step) {
        CAPTURE(step);
        if (step == 1) REQUIRE(document_set_hidden(d, a, true));
        if (step == 2) REQUIRE(document_replace_mask(d, c, disc_mask(120, 80, 10, 70, 5)));
        if (step == 3) REQUIRE(document_undo(d));
        CHECK(document_image_unit(d, 1) == expected(1));
        CHECK(document_image_unit(d, 2) == expected(2));
    }
}

TEST_CASE("app overlay: incremental repaints equal a repaint from scratch, and follow the edit") {
    for (int max_texture : {0, 50}) {  // the image's own size, and downscaled to 50 x 33
        CAPTURE(max_texture);
        document_state d = two_images();
        int64_t cat2 = 0;
        REQUIRE(document_add_category(d, "b", rgb8{200, 10, 10}, &cat2));
        annotation_overlay o;
        std::mt19937 rng(7);
        std::vector<int64_t> ids;
        int64_t selected = 0;
        for (int step = 0; step < 60; ++step) {
            CAPTURE(step);
            const int what = (int)(rng() % 6);
            if (what <= 1 || ids.empty()) {
                ids.push_back(add(d, 1 + (int64_t)(rng() % 2), rng() % 120, rng() % 80, 3 + rng() % 20));
            } else if (what == 2) {
                const int64_t id = ids[rng() % ids.size()], cat = rng() % 2 ? cat2 : d.current_category;
                if (d.doc.find_annotation(id)) REQUIRE(document_set_category(d, id, cat));
            } else if (what == 3) {
                const int64_t id = ids[rng() % ids.size()];
                if (const annotation *a = d.doc.find_annotation(id)) REQUIRE(document_set_hidden(d, id, !a->hidden));
            } else if (what == 4) {
                selected = ids[rng() % ids.size()];
            } else {
                document_undo(d);
            }
            overlay_update(o, d.doc, 1, 120, 80, selected, max_texture);
            std::vector<uint8_t> full, sel;
            overlay_paint_full(d.doc, 1, selected, 120, 80, o.tex, full, sel);
            REQUIRE(o.rgba == full);
            REQUIRE(o.selected == sel);
        }
        // an annotation added on top paints its own pixels only, and uploads its neighbourhood
        overlay_mark_uploaded(o);
        const int64_t top = add(d, 1, 100, 60, 4);
        REQUIRE(overlay_update(o, d.doc, 1, 120, 80, selected, max_texture));
        const overlay_rect r = o.dirty;
        CHECK((r.x1 - r.x0) * (r.y1 - r.y0) < o.tex.w * o.tex.h / 4);
        CHECK(o.pixels_painted <= (size_t)(M_PI * 5 * 5));
        // selecting it paints its mask into the selection texture, and nothing else
        overlay_mark_uploaded(o);
        REQUIRE(overlay_update(o, d.doc, 1, 120, 80, top, max_texture));
        CHECK(o.dirty.empty());
        CHECK_FALSE(o.selected_dirty.empty());
        // nothing changed: nothing repainted
        overlay_mark_uploaded(o);
        CHECK_FALSE(overlay_update(o, d.doc, 1, 120, 80, top, max_texture));
        CHECK(o.dirty.empty());
        CHECK(o.selected_dirty.empty());
    }
}
