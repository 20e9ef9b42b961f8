// Tests of the annotation document: every edit is undone and redone exactly, history is
// bounded, refused edits change nothing. Masks are the reference coco_rle blobs.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "core/annotation_document.h"
#include "core/coco_json.h"
#include "core/rle.h"
#include "reference_data.h"

namespace {

sam::binary_mask mask_from_npy(const sam::npy_array &a, size_t index = 0) {
    REQUIRE(a.shape.size() >= 2);
    int h = (int)a.shape[a.shape.size() - 2], w = (int)a.shape[a.shape.size() - 1];
    sam::binary_mask m(w, h);
    for (size_t i = 0; i < m.data.size(); i++) m.data[i] = a.data[index * m.data.size() + i] ? 1 : 0;
    return m;
}

sam::binary_mask rect_mask(int w, int h, int x0, int y0, int x1, int y1) {
    sam::binary_mask m(w, h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) m.at(x, y) = 1;
    return m;
}

// A canonical text of the document's content (export with every field), to compare states.
std::string snapshot(const sam::annotation_document &d) {
    sam::coco_export_options o;
    o.segmentation = sam::coco_segmentation::rle;
    return sam::coco_export(d, o);
}

struct fixture {
    sam::annotation_document doc;
    int64_t img = 0, cat_a = 0, cat_b = 0;
    sam::binary_mask blobs;
    fixture() {
        blobs = mask_from_npy(load_reference("masks", "blobs_120x160"));
        REQUIRE(doc.add_image({0, "blobs.png", blobs.width, blobs.height}, &img).ok());
        REQUIRE(doc.add_category("cat", {255, 0, 0}, &cat_a).ok());
        REQUIRE(doc.add_category("dog", {0, 0, 255}, &cat_b).ok());
    }
    int64_t add(const sam::binary_mask &m, int64_t cat, sam::annotation_source src = sam::annotation_source::human) {
        sam::annotation a;
        a.image_id = img;
        a.category_id = cat;
        a.mask = sam::mask_to_rle(m);
        a.score = 0.875;
        a.source = src;
        a.prompts.points.push_back({10.5, 20.25, 1});
        a.prompts.points.push_back({30, 40, 0});
        int64_t id = 0;
        sam::status st = doc.add_annotation(a, &id);
        REQUIRE_MESSAGE(st.ok(), st.message);
        return id;
    }
};

}  // namespace

TEST_CASE("annotation_document: area and bbox come from the mask") {
    fixture f;
    int64_t id = f.add(f.blobs, f.cat_a);
    const sam::annotation *a = f.doc.find_annotation(id);
    REQUIRE(a);
    size_t area = 0;
    int x0 = f.blobs.width, y0 = f.blobs.height, x1 = -1, y1 = -1;
    for (int y = 0; y < f.blobs.height; y++)
        for (int x = 0; x < f.blobs.width; x++)
            if (f.blobs.at(x, y)) {
                area++;
                x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
            }
    REQUIRE(area > 0);
    CHECK(a->area == (double)area);
    CHECK(a->bbox.x == x0);
    CHECK(a->bbox.y == y0);
    CHECK(a->bbox.w == x1 - x0 + 1);
    CHECK(a->bbox.h == y1 - y0 + 1);
}

TEST_CASE("annotation_document: every edit undoes and redoes to the exact same state") {
    fixture f;
    int64_t a1 = f.add(f.blobs, f.cat_a, sam::annotation_source::machine);
    int64_t a2 = f.add(rect_mask(f.blobs.width, f.blobs.height, 5, 5, 40, 30), f.cat_b);
    sam::binary_mask sub = rect_mask(f.blobs.width, f.blobs.height, 0, 0, 80, 120);
    sam::rle merged = sam::rle_merge(f.doc.find_annotation(a1)->mask, sam::mask_to_rle(sub), sam::rle_merge_op::subtract);

    struct edit {
        const char *name;
        std::function<sam::status()> run;
    };
    std::vector<edit> edits = {
        {"recategorise", [&] { return f.doc.set_annotation_category(a1, f.cat_b); }},
        {"hide", [&] { return f.doc.set_annotation_hidden(a2, true); }},
        {"confirm", [&] { return f.doc.confirm_annotation(a1); }},
        {"replace mask", [&] { return f.doc.replace_annotation_mask(a1, merged); }},
        {"delete annotation", [&] { return f.doc.delete_annotation(a2); }},
        {"add category", [&] { return f.doc.add_category("bird", {1, 2, 3}); }},
        {"rename category", [&] { return f.doc.rename_category(f.cat_a, "kitten"); }},
        {"recolour category", [&] { return f.doc.recolor_category(f.cat_a, {9, 8, 7}); }},
        {"add image", [&] { return f.doc.add_image({0, "two.png", 10, 10}); }},
        {"delete category with reassignment", [&] { return f.doc.delete_category(f.cat_b, f.cat_a); }},
        {"add annotation", [&] {
             sam::annotation a;
             a.image_id = f.img;
             a.category_id = f.cat_a;
             a.mask = sam::mask_to_rle(sub);
             return f.doc.add_annotation(a);
         }},
    };
    std::vector<std::string> states = {snapshot(f.doc)};
    for (const edit &e : edits) {
        CAPTURE(e.name);
        uint64_t rev = f.doc.revision();
        sam::status st = e.run();
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(f.doc.revision() > rev);
        std::string s = snapshot(f.doc);
        CHECK(s != states.back());
        states.push_back(s);
    }
    size_t depth = f.doc.undo_depth();
    CHECK(depth == 2 + 3 + edits.size());  // image + 2 categories + 2 annotations + edits
    for (size_t i = edits.size(); i-- > 0;) {
        CAPTURE(edits[i].name);
        REQUIRE(f.doc.undo());
        CHECK(snapshot(f.doc) == states[i]);
    }
    CHECK(f.doc.redo_depth() == edits.size());
    for (size_t i = 0; i < edits.size(); i++) {
        CAPTURE(edits[i].name);
        REQUIRE(f.doc.redo());
        CHECK(snapshot(f.doc) == states[i + 1]);
    }
    CHECK_FALSE(f.doc.redo());
    // a new edit after an undo drops the redo branch
    REQUIRE(f.doc.undo());
    REQUIRE(f.doc.undo());
    CHECK(f.doc.redo_depth() == 2);
    REQUIRE(f.doc.rename_category(f.cat_a, "cat2").ok());
    CHECK(f.doc.redo_depth() == 0);
}

TEST_CASE("annotation_document: replace mask keeps derived fields in step") {
    fixture f;
    int64_t id = f.add(f.blobs, f.cat_a);
    sam::binary_mask add = rect_mask(f.blobs.width, f.blobs.height, 100, 0, 160, 10);
    const sam::annotation before = *f.doc.find_annotation(id);
    sam::rle u = sam::rle_merge(before.mask, sam::mask_to_rle(add), sam::rle_merge_op::union_);
    REQUIRE(f.doc.replace_annotation_mask(id, u).ok());
    const sam::annotation *a = f.doc.find_annotation(id);
    CHECK(a->area == (double)sam::rle_area(u));
    CHECK(a->area > before.area);
    CHECK(a->bbox.y == 0);
    CHECK(a->score == before.score);
    CHECK(a->prompts.points.size() == 2);
    REQUIRE(f.doc.undo());
    CHECK(f.doc.find_annotation(id)->area == before.area);
    CHECK(f.doc.find_annotation(id)->mask.counts == before.mask.counts);
}

TEST_CASE("annotation_document: refused edits change nothing and say why") {
    fixture f;
    int64_t id = f.add(f.blobs, f.cat_a);
    std::string s0 = snapshot(f.doc);
    uint64_t rev = f.doc.revision();
    size_t depth = f.doc.undo_depth();

    SUBCASE("deleting a used category") {
        sam::status st = f.doc.delete_category(f.cat_a);
        CHECK_FALSE(st.ok());
        CHECK(st.message.find("used by 1 annotation") != std::string::npos);
        CHECK_FALSE(f.doc.delete_category(f.cat_a, 999).ok());
        CHECK_FALSE(f.doc.delete_category(f.cat_a, f.cat_a).ok());
    }
    SUBCASE("mask of the wrong size") {
        sam::annotation a;
        a.image_id = f.img;
        a.category_id = f.cat_a;
        a.mask = sam::mask_to_rle(sam::binary_mask(10, 10));
        sam::status st = f.doc.add_annotation(a);
        CHECK(st.message.find("10x10") != std::string::npos);
        CHECK_FALSE(f.doc.replace_annotation_mask(id, a.mask).ok());
    }
    SUBCASE("mask whose runs do not cover the image") {
        sam::rle bad = f.doc.find_annotation(id)->mask;
        bad.counts.back() += 1;
        CHECK_FALSE(f.doc.replace_annotation_mask(id, bad).ok());
    }
    SUBCASE("unknown ids") {
        CHECK_FALSE(f.doc.delete_annotation(id + 100).ok());
        CHECK_FALSE(f.doc.set_annotation_category(id, 12345).ok());
        CHECK_FALSE(f.doc.rename_category(777, "x").ok());
        sam::annotation a;
        a.image_id = 42;
        a.category_id = f.cat_a;
        CHECK(f.doc.add_annotation(a).message.find("no image 42") != std::string::npos);
    }
    SUBCASE("duplicates and bad values") {
        CHECK_FALSE(f.doc.add_image({0, "blobs.png", 5, 5}).ok());
        CHECK_FALSE(f.doc.add_image({f.img, "other.png", 5, 5}).ok());
        CHECK_FALSE(f.doc.add_image({0, "huge.png", 20000, 20000}).ok());
        CHECK_FALSE(f.doc.add_category("", {}).ok());
        sam::annotation a = *f.doc.find_annotation(id);
        CHECK_FALSE(f.doc.add_annotation(a).ok());  // same id
        a.id = 0;
        a.prompts.points.push_back({1, 2, 7});
        CHECK_FALSE(f.doc.add_annotation(a).ok());
    }
    CHECK(snapshot(f.doc) == s0);
    CHECK(f.doc.revision() == rev);
    CHECK(f.doc.undo_depth() == depth);
}

TEST_CASE("annotation_document: delete category with reassignment is one undo step") {
    fixture f;
    int64_t a1 = f.add(f.blobs, f.cat_a);
    int64_t a2 = f.add(f.blobs, f.cat_a);
    std::string s0 = snapshot(f.doc);
    REQUIRE(f.doc.delete_category(f.cat_a, f.cat_b).ok());
    CHECK(f.doc.find_category(f.cat_a) == nullptr);
    CHECK(f.doc.find_annotation(a1)->category_id == f.cat_b);
    CHECK(f.doc.find_annotation(a2)->category_id == f.cat_b);
    CHECK(f.doc.undo_label().find("delete category") == 0);
    REQUIRE(f.doc.undo());
    CHECK(snapshot(f.doc) == s0);
    // the category comes back at its old position
    CHECK(f.doc.categories().front().id == f.cat_a);
}

TEST_CASE("annotation_document: history is bounded by steps and bytes, ids are never reused") {
    fixture f;
    int64_t id = f.add(f.blobs, f.cat_a);
    // field edits do not copy the mask into the history: hiding an annotation with a big
    // mask costs the same as hiding one with an empty mask
    int64_t small = f.add(sam::binary_mask(f.blobs.width, f.blobs.height), f.cat_a);
    REQUIRE(f.doc.find_annotation(id)->mask.counts.size() > 100);
    size_t b0 = f.doc.history_bytes();
    REQUIRE(f.doc.set_annotation_hidden(id, true).ok());
    size_t b1 = f.doc.history_bytes();
    REQUIRE(f.doc.set_annotation_hidden(small, true).ok());
    size_t b2 = f.doc.history_bytes();
    CHECK(b2 - b1 == b1 - b0);
    f.doc.set_history_limits(256, 64u << 20);
    for (int i = 0; i < 600; i++) REQUIRE(f.doc.set_annotation_hidden(id, i % 2 == 0).ok());
    CHECK(f.doc.undo_depth() == 256);
    size_t n = 0;
    while (f.doc.undo()) n++;
    CHECK(n == 256);
    CHECK(f.doc.find_annotation(id) != nullptr);  // the add itself fell off the history

    // byte budget: each mask edit records two masks
    sam::annotation_document d;
    int64_t img = 0, cat = 0, a = 0;
    REQUIRE(d.add_image({0, "x.png", 300, 200}, &img).ok());
    REQUIRE(d.add_category("c", {}, &cat).ok());
    sam::binary_mask stripes(300, 200);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++) stripes.at(x, y) = (y / 2) % 2;  // many runs per column
    sam::annotation ann;
    ann.image_id = img;
    ann.category_id = cat;
    ann.mask = sam::mask_to_rle(stripes);
    REQUIRE(d.add_annotation(ann, &a).ok());
    size_t mask_bytes = ann.mask.counts.size() * sizeof(uint32_t);
    d.set_history_limits(1000, 10 * mask_bytes);
    for (int i = 0; i < 20; i++) {
        sam::binary_mask m = stripes;
        m.at(i, 0) = 1 - m.at(i, 0);
        REQUIRE(d.replace_annotation_mask(a, sam::mask_to_rle(m)).ok());
    }
    CHECK(d.history_bytes() <= 10 * mask_bytes);
    CHECK(d.undo_depth() >= 3);
    CHECK(d.undo_depth() <= 5);

    // ids are not reused after undo of an add
    int64_t b = 0;
    ann.id = 0;
    REQUIRE(d.add_annotation(ann, &b).ok());
    REQUIRE(d.undo());
    int64_t c = 0;
    REQUIRE(d.add_annotation(ann, &c).ok());
    CHECK(c != b);
}

TEST_CASE("annotation_document: groups, cancel and revision") {
    fixture f;
    int64_t id = f.add(f.blobs, f.cat_a);
    size_t depth = f.doc.undo_depth();
    uint64_t rev = f.doc.revision();
    f.doc.begin_group("batch");
    REQUIRE(f.doc.set_annotation_hidden(id, true).ok());
    REQUIRE(f.doc.set_annotation_category(id, f.cat_b).ok());
    f.doc.end_group();
    CHECK(f.doc.undo_depth() == depth + 1);
    CHECK(f.doc.undo_label() == "batch");
    REQUIRE(f.doc.undo());
    CHECK_FALSE(f.doc.find_annotation(id)->hidden);
    CHECK(f.doc.find_annotation(id)->category_id == f.cat_a);
    CHECK(f.doc.revision() > rev);  // undo also moves the revision forward

    std::string s0 = snapshot(f.doc);
    f.doc.begin_group("abandoned");
    REQUIRE(f.doc.delete_annotation(id).ok());
    REQUIRE(f.doc.add_category("x", {}).ok());
    f.doc.cancel_group();
    CHECK(snapshot(f.doc) == s0);
    CHECK(f.doc.undo_depth() == depth);

    f.doc.begin_group("empty");
    f.doc.end_group();
    CHECK(f.doc.undo_depth() == depth);

    // cancelling an inner group reverts only its edits; the outer group keeps the rest
    f.doc.begin_group("outer");
    REQUIRE(f.doc.set_annotation_hidden(id, true).ok());
    std::string hidden_state = snapshot(f.doc);
    f.doc.begin_group("inner");
    REQUIRE(f.doc.set_annotation_category(id, f.cat_b).ok());
    REQUIRE(f.doc.rename_category(f.cat_a, "renamed").ok());
    f.doc.cancel_group();
    CHECK(snapshot(f.doc) == hidden_state);
    REQUIRE(f.doc.recolor_category(f.cat_b, {1, 1, 1}).ok());
    f.doc.end_group();
    CHECK(f.doc.undo_depth() == depth + 1);
    CHECK(f.doc.undo_label() == "outer");
    REQUIRE(f.doc.undo());
    CHECK(snapshot(f.doc) == s0);
    REQUIRE(f.doc.redo());
    CHECK(f.doc.find_annotation(id)->hidden);
    CHECK(f.doc.find_annotation(id)->category_id == f.cat_a);
    CHECK(f.doc.find_category(f.cat_b)->color == sam::rgb8{1, 1, 1});
}

TEST_CASE("annotation_document: the id index follows every add, delete, undo and redo") {
    fixture f;
    sam::binary_mask small = rect_mask(f.blobs.width, f.blobs.height, 1, 1, 4, 4);
    std::vector<int64_t> ids;
    for (int i = 0; i < 12; i++) ids.push_back(f.add(small, f.cat_a));
    uint32_t seed = 7;
    auto rnd = [&](uint32_t n) {
        seed = seed * 1664525u + 1013904223u;
        return (seed >> 8) % n;
    };
    auto check_index = [&] {
        for (const sam::annotation &a : f.doc.annotations()) CHECK(f.doc.find_annotation(a.id) == &a);
        for (int64_t id : ids) {
            bool listed = false;
            for (const sam::annotation &a : f.doc.annotations()) listed |= a.id == id;
            CHECK((f.doc.find_annotation(id) != nullptr) == listed);
        }
    };
    for (int step = 0; step < 300; step++) {
        switch (rnd(4)) {
        case 0: {  // delete anywhere, not only the last one
            if (f.doc.annotations().empty()) break;
            int64_t id = f.doc.annotations()[rnd((uint32_t)f.doc.annotations().size())].id;
            REQUIRE(f.doc.delete_annotation(id).ok());
            break;
        }
        case 1: ids.push_back(f.add(small, f.cat_b)); break;
        case 2: f.doc.undo(); break;
        default: f.doc.redo(); break;
        }
        check_index();
    }
}
