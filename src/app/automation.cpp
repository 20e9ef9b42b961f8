// automation.cpp - what window.samAnnotator exposes (annotator.h): state() as JSON, and
// prompt() / accept(), which drive the tool as a person would, through the same
// functions as clicks and Enter.
#include <cmath>
#include <nlohmann/json.hpp>

#include "app/annotator.h"

namespace sam {

namespace {

using json = nlohmann::json;

bool finite_number(const json &v) { return v.is_number() && std::isfinite(v.get<double>()); }

const char *decoder_status_name(decoder_status s) {
    switch (s) {
        case decoder_status::idle: return "idle";
        case decoder_status::loading: return "loading";
        case decoder_status::ready: return "ready";
        case decoder_status::failed: return "failed";
    }
    return "?";
}

const char *server_mode_name(server_mode m) {
    switch (m) {
        case server_mode::none: return "none";
        case server_mode::per_image: return "per_image";
        case server_mode::whole_document: return "whole_document";
    }
    return "?";
}

const char *encoder_status_name(encoder_status s) {
    switch (s) {
        case encoder_status::off: return "off";
        case encoder_status::loading: return "loading";
        case encoder_status::ready: return "ready";
        case encoder_status::failed: return "failed";
    }
    return "?";
}

// In-browser encoding: the encoder, the queue, and where the shown image's embedding came
// from ("file": an .npy; "encoder": computed here, from memory, IndexedDB or the encoder).
json encoding_state_json(const annotator &app) {
    const browser_encoding_state &e = app.encoding;
    const manifest_image *entry = shown_entry(app.data);
    json shown = nullptr;
    if (entry) {
        const bool computed = entry->embedding.empty();
        shown = {{"source", computed ? "encoder" : "file"}};
        if (computed && e.shown.index == app.data.current) {
            shown["from_memory"] = e.shown.from_memory;
            shown["cached"] = e.shown.cached;
            shown["prep_ms"] = e.shown.prep_ms;
            shown["encode_ms"] = e.shown.encode_ms;
            shown["round_trip_ms"] = e.shown.round_trip_ms;
        }
    }
    json kept = json::array();
    for (int i : e.kept_order) kept.push_back(i);
    return {{"status", encoder_status_name(e.status)}, {"url", e.url}, {"model_key", e.model_key},
            {"description", e.description}, {"threads", e.threads}, {"error", e.error},
            {"declared", e.declared}, {"asked", e.asked},
            {"allowed", browser_encoding_allowed(app.data.data, e.asked)}, {"busy", e.busy},
            {"job_index", e.busy ? e.job_index : -1}, {"job_background", e.busy && e.job_background},
            {"total", e.total}, {"encoded", e.encoded.size()}, {"background_done", e.background_done},
            {"cache_hits", e.cache_hits}, {"failed", e.failed.size()}, {"kept", kept},
            {"cache_error", e.cache_error}, {"progress", browser_encoding_progress(e, app.data)}, {"shown", shown}};
}

}  // namespace

uint64_t annotator_prompt_api(annotator &app, const std::string &text, std::string &error) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        error = "prompt: expected an object {points: [[x, y, label], ...], box: [x0, y0, x1, y1]}";
        return 0;
    }
    prompt_shape shape;
    if (j.contains("points") && !j["points"].is_null()) {
        if (!j["points"].is_array() || j["points"].size() > 64) {
            error = "prompt: points must be an array of at most 64 [x, y, label]";
            return 0;
        }
        for (size_t i = 0; i < j["points"].size(); ++i) {
            const json &p = j["points"][i];
            if (!p.is_array() || p.size() < 2 || p.size() > 3 || !finite_number(p[0]) || !finite_number(p[1]) ||
                (p.size() == 3 && !(p[2] == 0 || p[2] == 1))) {
                error = "prompt: points[" + std::to_string(i) + "] must be [x, y] or [x, y, label] with label 1 or 0";
                return 0;
            }
            shape.points.push_back(click_point{p[0].get<double>(), p[1].get<double>(), p.size() == 3 ? p[2].get<int>() : 1});
        }
    }
    if (j.contains("box") && !j["box"].is_null()) {
        const json &b = j["box"];
        if (!b.is_array() || b.size() != 4 || !finite_number(b[0]) || !finite_number(b[1]) || !finite_number(b[2]) ||
            !finite_number(b[3])) {
            error = "prompt: box must be [x0, y0, x1, y1] (image pixels)";
            return 0;
        }
        shape.has_box = true;
        shape.box[0] = std::min(b[0].get<double>(), b[2].get<double>());
        shape.box[1] = std::min(b[1].get<double>(), b[3].get<double>());
        shape.box[2] = std::max(b[0].get<double>(), b[2].get<double>());
        shape.box[3] = std::max(b[1].get<double>(), b[3].get<double>());
    }
    if (shape.empty()) {
        error = "prompt: give points or a box";
        return 0;
    }
    if (!app.data.image_ready || !app.data.embedding_ready || app.decoder.status() != decoder_status::ready) {
        error = "prompt: not ready (the image, its embedding or the decoder is still loading)";
        return 0;
    }
    if (detector_active(app.detector) || everything_active(app.everything)) {
        error = "prompt: the decoder is busy with detector boxes or segment everything";
        return 0;
    }
    const uint64_t before = app.prompt.last_request_id;
    annotator_set_prompt(app, std::move(shape));
    if (app.prompt.last_request_id == before) {
        error = "prompt: not sent";
        return 0;
    }
    return app.prompt.last_request_id;
}

int64_t annotator_accept_api(annotator &app, const std::string &text, std::string &error) {
    json j = json::parse(text.empty() ? "{}" : text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        error = "accept: expected an object {category: name or id}";
        return 0;
    }
    if (!app.prompt.has_result || app.prompt.result_request_id != app.prompt.last_request_id) {
        error = app.prompt.has_result ? "accept: the newest prompt is still being decoded" : "accept: no mask to accept";
        return 0;
    }
    if (j.contains("category") && !j["category"].is_null()) {
        const json &c = j["category"];
        int64_t id = 0;
        if (c.is_number_integer()) {
            id = c.get<int64_t>();
            if (!app.doc.doc.find_category(id)) {
                error = "accept: no category with id " + std::to_string(id);
                return 0;
            }
        } else if (c.is_string() && !c.get<std::string>().empty()) {
            for (const doc_category &k : app.doc.doc.categories())
                if (k.name == c.get<std::string>()) id = k.id;
            if (!id) {
                status st = document_add_category(app.doc, c.get<std::string>(),
                                                  category_palette_colour(app.doc.doc.categories().size()), &id);
                if (!st) {
                    error = "accept: " + st.message;
                    return 0;
                }
            }
        } else {
            error = "accept: category must be a name or an id";
            return 0;
        }
        app.doc.current_category = id;
    }
    const uint64_t revision = app.doc.doc.revision();
    const size_t notices = app.messages.notices.size(), errors = app.messages.errors.size();
    annotator_accept(app, accept_merge::none);
    if (app.doc.doc.revision() == revision || !app.doc.selected_annotation) {
        error = app.messages.errors.size() > errors     ? "accept: " + app.messages.errors.back()
                : app.messages.notices.size() > notices ? "accept: " + app.messages.notices.back()
                                                        : "accept: nothing accepted";
        return 0;
    }
    return app.doc.selected_annotation;
}

namespace {

json server_state_json(const server_sync_state &sv) {
    json conflicts = json::array();
    for (const server_conflict &c : sv.conflicts) conflicts.push_back({{"unit", c.unit}, {"version", c.version}});
    return {{"dataset", sv.dataset}, {"mode", server_mode_name(sv.mode)}, {"version", sv.store_version},
            {"saved_revision", sv.saved_revision}, {"saving", sv.saving},
            {"conflict", sv.conflicts.empty() ? "" : sv.conflicts.front().message}, {"conflicts", conflicts},
            {"dirty", sv.dirty.size() + (sv.whole_dirty ? 1 : 0)}, {"error", sv.error}, {"puts", sv.puts},
            {"last_put_bytes", sv.last_put_bytes}, {"put_bytes", sv.put_bytes}};
}

// The save fields state() and saveState() share.
void add_save_fields(json &s, const annotator &app) {
    s["revision"] = app.doc.doc.revision();
    s["restored"] = app.save.restore_done;
    s["autosave_count"] = app.save.write_count;
    s["autosaved_revision"] = app.save.saved_revision;
    s["autosave_bytes"] = {{"last", app.save.last_write_bytes}, {"total", app.save.write_bytes}};
    s["server"] = server_state_json(app.save.server);
}

}  // namespace

std::string annotator_save_state_json(const annotator &app) {
    json s;
    add_save_fields(s, app);
    s["save_ms"] = app.timings.save_ms;
    return s.dump();
}

std::string annotator_state_json(const annotator &app, const frame_counters &f) {
    const dataset_state &d = app.data;
    const prompt_state &p = app.prompt;
    json s;
    s["ready"] = app.ui_ready();
    const manifest_image *entry = shown_entry(d);
    const texture_size tex = display_texture_size(d.image.width, d.image.height, app.max_texture_size);
    if (entry) {
        s["image"] = {{"id", entry->id}, {"index", d.current}, {"file", entry->file}, {"width", d.image.width},
                      {"height", d.image.height}, {"loaded", d.image_ready}, {"embedding_loaded", d.embedding_ready},
                      {"texture_width", d.image_ready ? tex.w : 0}, {"texture_height", d.image_ready ? tex.h : 0}};
    } else {
        s["image"] = nullptr;
    }
    s["image_count"] = d.data.images.size();
    s["view"] = {{"scale", app.canvas.view.scale}, {"offset_x", app.canvas.view.offset_x},
                 {"offset_y", app.canvas.view.offset_y}};
    s["canvas"] = {{"x", app.canvas.area.x}, {"y", app.canvas.area.y}, {"w", app.canvas.area.w}, {"h", app.canvas.area.h}};
    s["tool"] = p.tool == tool_kind::point ? "point" : p.tool == tool_kind::box ? "box" : "proposal";
    json pts = json::array();
    for (const click_point &q : p.shape.points) pts.push_back({{"x", q.x}, {"y", q.y}, {"label", q.label}});
    s["points"] = pts;
    s["box"] = p.shape.has_box ? json::array({p.shape.box[0], p.shape.box[1], p.shape.box[2], p.shape.box[3]})
                               : json(nullptr);
    json cands = json::array();
    int selected_candidate = 0;
    s["single_iou"] = nullptr;
    if (p.has_result) {
        const decoder_result &r = p.result;
        const int first = r.mask_count == 4 ? 1 : 0;
        for (int i = first; i < r.mask_count; ++i)
            cands.push_back({{"number", i - first + 1}, {"output", i}, {"iou", r.iou_predictions[(size_t)i]}});
        if (p.selected_output >= first) selected_candidate = p.selected_output - first + 1;
        s["single_iou"] = r.mask_count == 4 ? json(r.iou_predictions[0]) : json(nullptr);
    }
    s["candidates"] = cands;
    s["selected_candidate"] = selected_candidate;  // 1..3, 0 = single-mask output or none
    s["selected_output"] = p.selected_output;
    s["result_kind"] = !p.has_result ? "none" : p.result_kind == request_kind::hover ? "hover" : "prompt";
    json anns = json::array();
    for (const annotation &a : app.doc.doc.annotations())
        anns.push_back({{"id", a.id}, {"image_id", a.image_id}, {"category_id", a.category_id}, {"area", a.area},
                        {"bbox", {a.bbox.x, a.bbox.y, a.bbox.w, a.bbox.h}}, {"score", a.score}, {"hidden", a.hidden},
                        {"source", annotation_source_name(a.source)}, {"points", a.prompts.points.size()},
                        {"has_box", a.prompts.has_box}});
    s["annotations"] = anns;
    json cats = json::array();
    for (const doc_category &c : app.doc.doc.categories())
        cats.push_back({{"id", c.id}, {"name", c.name}, {"color", {c.color.r, c.color.g, c.color.b}}});
    s["categories"] = cats;
    json props = json::array();
    const proposals_state &pr = app.proposals;
    for (size_t i = 0; i < pr.proposals.proposals.size(); ++i) {
        const mask_proposal &q = pr.proposals.proposals[i];
        props.push_back({{"index", i}, {"predicted_iou", q.predicted_iou}, {"stability_score", q.stability_score},
                         {"area", q.area}, {"bbox", {q.bbox.x, q.bbox.y, q.bbox.w, q.bbox.h}},
                         {"taken", !proposal_available(pr, (int)i)}});
    }
    s["proposals"] = {{"url", pr.url}, {"status", pr.status}, {"list", props}, {"selected", pr.selected},
                      {"min_iou", pr.min_iou}, {"shown", pr.show}};
    const everything_state &e = app.everything;
    s["everything"] = {{"active", everything_active(e)}, {"sent", e.sent}, {"done", e.done}, {"total", e.total},
                       {"batches_sent", e.batches_sent}, {"points_per_side", e.points_per_side},
                       {"pred_iou_thresh", e.pred_iou_thresh}, {"stability_score_thresh", e.stability_thresh}};
    const detector_state &dt = app.detector;
    s["detector"] = {{"file", dt.file}, {"active", detector_active(dt)}, {"total", dt.jobs.size()},
                     {"sent", dt.sent}, {"finished", dt.finished}, {"done", dt.done.size()},
                     {"batches_sent", dt.batches_sent}, {"empty", dt.empty}, {"classes_file", dt.yolo_classes_file},
                     {"classes", dt.yolo_classes}};
    s["current_category"] = app.doc.current_category;
    s["selected_annotation"] = app.doc.selected_annotation;
    s["redo_depth"] = app.doc.doc.redo_depth();
    s["undo_depth"] = app.doc.doc.undo_depth();
    add_save_fields(s, app);
    s["notices"] = app.messages.notices;
    s["help_visible"] = app.ui.show_help;
    s["text_input_active"] = app.ui.text_input_active;
    if (f.frames >= 0) s["frames_drawn"] = f.frames;
    if (f.presented >= 0) s["frames_presented"] = f.presented;
    if (f.imgui_frames >= 0) s["imgui_frames"] = f.imgui_frames;
    s["frame_ms"] = f.frame_ms_last;
    json ui = json::object();
    for (const auto &kv : app.ui.rects) ui[kv.first] = {kv.second[0], kv.second[1], kv.second[2], kv.second[3]};
    s["ui"] = ui;
    s["last_decode_ms"] = p.last_decode_ms;
    s["last_round_trip_ms"] = p.last_round_trip_ms;
    s["decode_count"] = p.decode_count;
    s["last_mask_frame"] = {{"request_id", p.last_mask_frame.request_id}, {"input_ms", p.last_mask_frame.input_ms},
                            {"result_ms", p.last_mask_frame.result_ms}, {"frame_ms", p.last_mask_frame.frame_ms}};
    s["requests"] = {{"sent", p.requests_sent}, {"last_id", p.last_request_id},
                     {"last_has_mask_input", p.last_request_has_mask_input}, {"shown_id", p.result_request_id}};
    s["decoder"] = {{"status", decoder_status_name(app.decoder.status())}, {"busy", app.decoder.busy()},
                    {"description", app.decoder.description()}, {"backend", app.decoder.backend_name()},
                    {"threads", app.decoder.threads()}, {"worker", app.choice.worker}, {"url", app.choice.url},
                    {"fell_back", app.choice.fell_back}, {"error", app.decoder.error()}};
    s["overlay"] = {{"revision", app.overlay.revision}, {"pixels_painted", app.overlay.pixels_painted}};
    s["timings"] = {{"accept_ms", app.timings.accept_ms}, {"overlay_ms", app.timings.overlay_ms},
                    {"save_ms", app.timings.save_ms}};
    s["encoding"] = encoding_state_json(app);
    json errors = app.messages.errors;
    for (const std::string &x : app.messages.image_errors) errors.push_back(x);
    s["errors"] = errors;
    s["max_texture_size"] = app.max_texture_size;
    return s.dump();
}

}  // namespace sam
