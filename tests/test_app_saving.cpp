// Tests of the app's saves, natively: per-image units in the browser store and on a
// server that speaks the annotations API (an in-memory double of the contract;
// tests/browser/saving.test.mjs runs the same against the real scripts/serve): what
// an edit writes (its image's unit only, whatever the dataset's size), 409 on a stale
// unit resolved either way without loss, an older server with only the whole-document
// route, the old single-record autosave, 100 edits and a reload, a page closed while
// the server was down.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "app/annotator.h"
#include "app_test_platform.h"
#include "app_test_session.h"

using namespace sam;
using json = nlohmann::json;

namespace {

const std::string k_key = "manifest:http://127.0.0.1:8000/datasets/ds/manifest.json";
const std::string k_api = "http://127.0.0.1:8000/api/annotations/ds";

test::annotations_api_double server_for(int images) {
    test::annotations_api_double s;
    s.dataset = "ds";
    for (int i = 0; i < images; ++i) s.images.emplace_back(i + 1, "img" + std::to_string(i) + ".bmp");
    return s;
}

void accept_at(test::session &t, double x, double y) {
    annotator_set_prompt(*t.app, prompt_shape{{click_point{x, y, 1}}});
    t.settle();
    REQUIRE(t.app->prompt.has_result);
    annotator_accept(*t.app, accept_merge::none);
    t.settle();
}

size_t annotations_in(const std::string &unit_text) { return json::parse(unit_text).size(); }

// n images x k annotations already saved on the server (a disc each).
void preload(test::annotations_api_double &s, int k) {
    json cats = json::array({{{"id", 1}, {"name", "object"}, {"supercategory", ""}}});
    s.units["categories"] = {1, cats.dump()};
    // a small RLE disc of a 640x480 image, as the app writes it
    test::session_options o;
    o.images = 1;
    test::session t(o);
    for (int i = 0; i < k; ++i) accept_at(t, 20 + 15 * i, 100);
    const std::string unit = document_image_unit(t.app->doc, 1);
    for (const auto &im : s.images) s.units["image:" + im.second] = {1, unit};
    test::host_reset();
}

}  // namespace

TEST_CASE("app saving: an edit writes its image's unit to the browser store and the server; a reload restores it") {
    test::annotations_api_double server = server_for(3);
    test::session_options o;
    o.server = &server;
    o.token = "s3cret";
    {
        test::session t(o);
        REQUIRE(t.app->save.restore_done);
        CHECK(t.app->save.server.mode == server_mode::per_image);
        accept_at(t, 200, 150);
        REQUIRE(server.units.count("image:img0.bmp"));
        CHECK(server.units["image:img0.bmp"].first == 1);
        CHECK(annotations_in(server.units["image:img0.bmp"].second) == 1);
        CHECK(server.units.count("categories"));  // the default category went up first
        const store_unit &local = test::host_store().at(k_key + "|image:img0.bmp");
        CHECK(annotations_in(local.text) == 1);
        const store_unit &sync = test::host_store().at(k_key + "|sync:image:img0.bmp");
        CHECK(sync.number == 1);  // based on the server's version 1
        CHECK(sync.flags == 0);   // the server has it
        CHECK(t.app->save.server.saved_revision == t.app->doc.doc.revision());
        // saveState() carries state()'s save fields, and not the annotation list
        const json full = json::parse(annotator_state_json(*t.app));
        const json light = json::parse(annotator_save_state_json(*t.app));
        for (const char *k : {"revision", "restored", "autosave_count", "autosaved_revision", "autosave_bytes", "server"})
            CHECK_MESSAGE(light[k] == full[k], k);
        CHECK(!light.contains("timings"));
        CHECK(light["save_ms"] == full["timings"]["save_ms"]);
        CHECK(!light.contains("annotations"));
        // every /api call carried the token; the unit PUT the version it was edited from
        bool put_seen = false;
        for (const http_request &r : test::host_http_log()) {
            if (r.url.find("/api/") == std::string::npos) continue;
            CHECK(r.authorization == "Bearer s3cret");
            if (r.method == "PUT" && r.url == k_api + "/images/img0.bmp") {
                CHECK(r.if_match == "\"0\"");
                put_seen = true;
            }
        }
        CHECK(put_seen);
    }
    o.keep_host = true;
    test::session again(o);
    REQUIRE(again.app->doc.doc.annotations().size() == 1);
    CHECK(again.app->doc.doc.annotations()[0].image_id == 1);
    CHECK(again.app->doc.doc.undo_depth() == 0);  // a restored session starts a fresh history
}

TEST_CASE("app saving: what an edit writes does not grow with the dataset") {
    size_t store_bytes[2], put_bytes[2], save_state_bytes[2];
    const int sizes[2] = {10, 300};
    for (int k = 0; k < 2; ++k) {
        CAPTURE(sizes[k]);
        test::annotations_api_double server = server_for(sizes[k]);
        preload(server, 30);
        test::session_options o;
        o.images = sizes[k];
        o.server = &server;
        test::session t(o);
        REQUIRE(t.app->doc.doc.annotations().size() == (size_t)(30 * sizes[k]));
        const size_t stored = test::host_store_bytes_written(), put = server.put_bytes;
        const int puts = server.puts;
        // one edit: hide the first annotation of the shown image
        const int64_t id = t.app->doc.doc.annotations()[0].id;
        REQUIRE(document_set_hidden(t.app->doc, id, true));
        t.settle();
        CHECK(server.puts == puts + 1);
        store_bytes[k] = test::host_store_bytes_written() - stored;
        put_bytes[k] = server.put_bytes - put;
        save_state_bytes[k] = annotator_save_state_json(*t.app).size();  // what a wait for "saved" polls
    }
    CHECK(save_state_bytes[1] < save_state_bytes[0] + 16);
    CHECK(store_bytes[1] < store_bytes[0] * 11 / 10);
    CHECK(put_bytes[1] < put_bytes[0] * 11 / 10);
    CHECK(put_bytes[0] > 0);
}

TEST_CASE("app saving: a stale unit gets 409; keeping mine or taking theirs loses nothing") {
    for (bool take_theirs : {false, true}) {
        CAPTURE(take_theirs);
        test::annotations_api_double server = server_for(3);
        test::session_options o;
        o.server = &server;
        test::session t(o);
        accept_at(t, 200, 150);
        REQUIRE(server.units["image:img0.bmp"].first == 1);
        // someone else saves the image (version 2: no annotations)
        server.units["image:img0.bmp"] = {2, "[]"};
        accept_at(t, 400, 300);
        REQUIRE(t.app->save.server.conflicts.size() == 1);
        CHECK(t.app->save.server.conflicts[0].unit == "image:img0.bmp");
        CHECK(t.app->save.server.conflicts[0].version == 2);
        CHECK(t.app->doc.doc.annotations().size() == 2);  // nothing lost here
        CHECK(annotations_in(test::host_store().at(k_key + "|image:img0.bmp").text) == 2);  // nor in the browser store
        CHECK(test::host_store().at(k_key + "|sync:image:img0.bmp").flags == 1);
        annotator_resolve_conflict(*t.app, take_theirs);
        t.settle();
        CHECK(t.app->save.server.conflicts.empty());
        CHECK(server.units["image:img0.bmp"].first == 3);
        if (!take_theirs) {
            CHECK(annotations_in(server.units["image:img0.bmp"].second) == 2);
        } else {
            CHECK(t.app->doc.doc.annotations().empty());  // theirs: none
            CHECK(annotations_in(server.units["image:img0.bmp"].second) == 0);
            annotator_undo(*t.app);  // ours come back, and go up again
            t.settle();
            CHECK(t.app->doc.doc.annotations().size() == 2);
            CHECK(annotations_in(server.units["image:img0.bmp"].second) == 2);
        }
    }
}

TEST_CASE("app saving: a server with only the whole-document route still loads and saves") {
    test::annotations_api_double server = server_for(3);
    server.whole_only = true;
    test::session_options o;
    o.server = &server;
    {
        test::session t(o);
        CHECK(t.app->save.server.mode == server_mode::whole_document);
        const double v0 = server.store_version;  // the default category made at restore went up
        accept_at(t, 200, 150);
        CHECK(server.store_version == v0 + 1);
        CHECK(annotations_in(server.units["image:img0.bmp"].second) == 1);
        // a write from elsewhere: the next whole PUT is stale
        server.store_version = 5;
        accept_at(t, 300, 150);
        REQUIRE(t.app->save.server.conflicts.size() == 1);
        CHECK(t.app->save.server.conflicts[0].unit.empty());
        annotator_resolve_conflict(*t.app, false);
        t.settle();
        CHECK(server.store_version == 6);
        CHECK(annotations_in(server.units["image:img0.bmp"].second) == 2);
    }
    test::host_store().clear();  // another browser
    o.keep_host = true;
    test::session fresh(o);
    CHECK(fresh.app->doc.doc.annotations().size() == 2);
}

TEST_CASE("app saving: the old single-record autosave is restored and migrated to units") {
    test::session_options o;
    {
        test::session t(o);
        accept_at(t, 200, 150);
        accept_at(t, 400, 300);
        // the same document as the old app saved it: one COCO text under the dataset key
        test::host_single_store()[k_key] = {coco_export(t.app->doc.doc, coco_lossless_options()), -1};
    }
    test::host_store().clear();
    o.keep_host = true;
    {
        test::session old(o);
        CHECK(old.app->doc.doc.annotations().size() == 2);
        bool noticed = false;
        for (const std::string &n : old.app->messages.notices) noticed = noticed || n.find("Restored 2 annotations") == 0;
        CHECK(noticed);
        CHECK(test::host_store().count(k_key + "|image:img0.bmp"));  // migrated
    }
    test::host_single_store().clear();
    test::session units(o);
    CHECK(units.app->doc.doc.annotations().size() == 2);
}

TEST_CASE("app saving: 100 edits, a reload, nothing lost") {
    test::annotations_api_double server = server_for(3);
    test::session_options o;
    o.server = &server;
    std::string before;
    {
        test::session t(o);
        for (int i = 0; i < 100; ++i) {
            if (i % 40 == 0) {
                annotator_open_image(*t.app, (i / 40) % 3);
                t.settle();
            }
            if (i % 5 == 4) {
                annotator_undo(*t.app);
                t.settle();
                continue;
            }
            accept_at(t, 20 + (i % 30) * 20, 40 + (i % 7) * 50);
        }
        before = coco_export(t.app->doc.doc, coco_lossless_options());
        CHECK(t.app->doc.doc.annotations().size() > 50);
    }
    o.keep_host = true;
    test::session again(o);
    CHECK(coco_export(again.app->doc.doc, coco_lossless_options()) == before);
    test::host_store().clear();  // the server alone has it all too
    test::session elsewhere(o);
    CHECK(coco_export(elsewhere.app->doc.doc, coco_lossless_options()) == before);
}

TEST_CASE("app saving: edits made while the server was down go up after a reload") {
    test::annotations_api_double server = server_for(3);
    test::session_options o;
    o.server = &server;
    bool down = false;
    auto handler = [&](const http_request &r, int &status, std::string &body) {
        if (down && r.method == "PUT") {
            status = 503;
            body = "{\"error\":\"down\"}";
            return;
        }
        server.handle(r, status, body);
    };
    {
        test::session t(o);
        test::host_set_http(handler);
        down = true;
        accept_at(t, 200, 150);
        CHECK_FALSE(t.app->save.server.error.empty());
        CHECK(server.units.count("image:img0.bmp") == 0);
        CHECK(test::host_store().at(k_key + "|sync:image:img0.bmp").flags == 1);
    }
    down = false;
    o.keep_host = true;
    test::session again(o);
    CHECK(again.app->doc.doc.annotations().size() == 1);
    REQUIRE(server.units.count("image:img0.bmp"));
    CHECK(annotations_in(server.units["image:img0.bmp"].second) == 1);
}
