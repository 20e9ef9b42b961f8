#include "app/annotator.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/coco_json.h"
#include "core/embedding.h"
#include "core/image_decode.h"

namespace sam {

namespace {

using json = nlohmann::json;

std::vector<doc_image> manifest_doc_images(const manifest &m) {
    std::vector<doc_image> out;
    for (const manifest_image &im : m.images) out.push_back(doc_image{im.id, coco_file_name(im), im.width, im.height});
    return out;
}

bool decoder_free_for_prompts(const annotator &app) {
    return !detector_active(app.detector) && !everything_active(app.everything);
}

// The shown prompt's request, or (empty prompt) nothing shown and the hover preview re-armed.
void request_prompt(annotator &app) {
    if (app.prompt.shape.empty()) {
        prompt_clear_result(app.prompt);
        app.prompt.hover_x = app.prompt.hover_y = -1;
        return;
    }
    if (!app.data.image_ready || !app.data.embedding_ready || app.decoder.status() != decoder_status::ready ||
        !decoder_free_for_prompts(app))
        return;
    prompt_send(app.prompt, app.decoder, app.data.data.spec, request_kind::prompt, app.prompt.shape,
                app.data.image.height, app.data.image.width, platform_last_input_ms(), platform_now_ms());
}

void start_restore(annotator &app) {
    persistence_start(app.save, app.doc, app.messages, [&app] { app.overlay.doc_revision = ~uint64_t(0); });
}

void load_manifest(annotator &app, const std::string &url, bool optional) {
    app.data.manifest_url = url;
    platform_fetch(url, [&app, optional](const status &st, std::vector<uint8_t> &&bytes) {
        if (!st && optional) {
            app.data.manifest_url.clear();  // none: show the open-files screen
            return;
        }
        if (!st) return add_error(app.messages, st.message);
        status ps = manifest_parse(std::string(bytes.begin(), bytes.end()), app.data.manifest_url, app.data.data);
        if (!ps) return add_error(app.messages, ps.message);
        app.data.manifest_loaded = true;
        if (app.data.data.images.empty()) return add_error(app.messages, app.data.manifest_url + ": no images");
        status ds = document_reset(app.doc, manifest_doc_images(app.data.data));
        if (!ds) return add_error(app.messages, app.data.manifest_url + ": " + ds.message);
        const std::string absolute = platform_absolute_url(app.data.manifest_url);
        app.save.key = "manifest:" + absolute;
        server_sync_state &s = app.save.server;
        s.dataset = served_dataset_name(absolute);
        s.api = s.dataset.empty() ? ""
                                  : absolute.substr(0, absolute.find("/datasets/")) + "/api/annotations/" +
                                        url_encode_component(s.dataset);
        start_restore(app);
        decoder_choose(app.choice, app.decoder, app.data.manifest_url, app.data.data, app.data.decoder_url);
        annotator_open_image(app, 0);
    });
}

bool ends_with(std::string s, const std::string &suffix) {
    for (char &c : s) c = (char)std::tolower((unsigned char)c);
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The newest image + embedding pair as a one-image dataset.
void open_local_pair(annotator &app) {
    dataset_state &d = app.data;
    const std::string image_url = "local:" + d.local_image, npy_url = "local:" + d.local_embedding;
    const std::vector<uint8_t> &bytes = d.local_files[image_url];
    image_u8 img;
    status st = decode_image(bytes.data(), bytes.size(), d.local_image, img);
    if (!st) return add_error(app.messages, st.message);
    app.messages.errors.clear();
    d.data = manifest{};
    d.data.version = 1;
    d.data.model_id = "local files";
    d.data.images.push_back(manifest_image{1, image_url, img.width, img.height, "", npy_url, "", {npy_url}});
    d.manifest_url = "local:";
    d.manifest_loaded = true;
    d.current = -1;
    document_reset(app.doc, manifest_doc_images(d.data));
    // the same picture opened again finds its autosave
    app.save.key = "local:" + d.local_image + ":" + std::to_string(bytes.size());
    app.save.server = server_sync_state{};
    app.save.server.token.clear();
    start_restore(app);
    decoder_choose(app.choice, app.decoder, d.manifest_url, d.data, d.decoder_url);
    annotator_open_image(app, 0);
}

// The feature files and dtype of a manifest entry the server sent (POST /api/embed): SAM
// 2.1 lists its three under "features"; SAM 1 has the one "embedding".
void take_entry_features(const json &j, const model_spec &spec, manifest_image &e) {
    if (j.contains("embedding_dtype") && j["embedding_dtype"].is_string()) e.embedding_dtype = j["embedding_dtype"];
    e.features.assign(spec.features.size(), std::string());
    const json none = json::object();
    const json &files = j.contains("features") && j["features"].is_object() ? j["features"] : none;
    for (size_t k = 0; k < spec.features.size(); ++k) {
        auto f = files.find(spec.features[k].name);
        if (f != files.end() && f->is_string()) e.features[k] = f->get<std::string>();
    }
    if (spec.features.size() == 1 && e.features[0].empty()) e.features[0] = e.embedding;
}

// The decoder's set_image of a manifest image: its one embedding by URL (SAM 1), or one URL
// per feature tensor of the model spec (SAM 2.1), which the worker fetches itself.
decoder_embedding embedding_of(const dataset_state &d, const manifest_image &entry) {
    decoder_embedding e;
    e.name = entry.embedding;
    e.dtype = entry.embedding_dtype;
    const model_spec &spec = d.data.spec;
    if (spec.features.size() <= 1 || entry.features.size() != spec.features.size()) {
        e.url = platform_absolute_url(resource_url(d, entry.embedding));
        return e;
    }
    for (size_t k = 0; k < spec.features.size(); ++k)
        e.features.push_back(decoder_feature{spec.features[k].name,
                                             platform_absolute_url(resource_url(d, entry.features[k])),
                                             entry.features[k], spec.features[k].shape});
    return e;
}

// scripts/serve --encoder embeds a dropped image into the served dataset (POST
// /api/embed); the new manifest entry joins the image list and opens.
void upload_for_embedding(annotator &app, const std::string &name, std::vector<uint8_t> bytes) {
    const server_sync_state &s = app.save.server;
    http_request r = server_request(s, "POST", s.api.substr(0, s.api.find("/api/")) + "/api/embed?dataset=" +
                                                   url_encode_component(s.dataset) + "&name=" + url_encode_component(name));
    r.content_type = "application/octet-stream";
    r.body_bytes = std::move(bytes);
    add_notice(app.messages, "Embedding " + name + " on the server...");
    platform_http(r, [&app, name](int code, std::string body, std::string error) {
        json j = json::parse(body, nullptr, false);
        if (code != 200 || j.is_discarded() || !j.is_object() || !j["id"].is_number_integer() ||
            !j["file"].is_string() || !j["embedding"].is_string() || !j["width"].is_number_integer() ||
            !j["height"].is_number_integer()) {
            const std::string why = !error.empty() ? error
                                    : (!j.is_discarded() && j.is_object() && j["error"].is_string())
                                        ? j["error"].get<std::string>()
                                        : "HTTP " + std::to_string(code);
            return add_error(app.messages, name + ": the server could not embed it: " + why);
        }
        manifest_image e{j["id"].get<int>(), j["file"].get<std::string>(), j["width"].get<int>(),
                         j["height"].get<int>(), j["sha256"].is_string() ? j["sha256"].get<std::string>() : "",
                         j["embedding"].get<std::string>(), "float32", {}};
        take_entry_features(j, app.data.data.spec, e);
        int index = -1;
        for (size_t i = 0; i < app.data.data.images.size(); ++i)
            if (app.data.data.images[i].id == e.id) index = (int)i;
        if (index < 0) {
            app.data.data.images.push_back(e);
            index = (int)app.data.data.images.size() - 1;
        }
        document_ensure_image(app.doc, doc_image{e.id, coco_file_name(e), e.width, e.height});
        add_notice(app.messages, "Embedded " + name + " on the server");
        annotator_open_image(app, index);
    });
}

void import_coco_file(annotator &app, const std::string &name, const std::string &text) {
    if (!app.save.restore_done) return add_error(app.messages, name + ": open a dataset or an image before importing COCO");
    coco_import_options opt;
    opt.add_unknown_images = false;
    opt.match_base_name = true;
    coco_import_report rep;
    status st = document_import(app.doc, text, name, opt, rep);
    if (!st) return add_error(app.messages, st.message);
    document_ensure_category(app.doc);
    add_notice(app.messages, "Imported " + std::to_string(rep.annotations_added) + " annotations from " + name +
                                 (rep.annotations_skipped ? " (" + std::to_string(rep.annotations_skipped) +
                                                                " on images not open here skipped)"
                                                          : ""));
}

const manifest_image *detector_target(annotator &app, const std::string &name) {
    const manifest_image *entry = shown_entry(app.data);
    if (!app.save.restore_done || !entry) {
        add_error(app.messages, name + ": open a dataset or an image before importing detector boxes");
        return nullptr;
    }
    if (everything_active(app.everything)) {
        add_error(app.messages, name + ": segment everything is running; cancel it first");
        return nullptr;
    }
    return entry;
}

// The prompt in progress would compete for the decoder with a batch job.
void drop_prompt(annotator &app) {
    app.prompt.shape = prompt_shape{};
    prompt_clear_result(app.prompt);
}

}  // namespace

annotator &annotator_instance() {
    static annotator app;
    return app;
}

bool annotator::ui_ready() const {
    if (!renderer_ok) return false;
    if (data.manifest_url.empty() || has_errors(messages)) return true;
    if (decoder.status() == decoder_status::failed && choice.error_reported) return true;
    return data.image_ready && data.embedding_ready && save.restore_done && decoder.status() == decoder_status::ready;
}

void annotator_init(annotator &app, const annotator_options &o) {
    app.data.decoder_url = o.decoder_url;
    app.save.server.token = o.token;
    if (!o.manifest_url.empty()) return load_manifest(app, o.manifest_url, false);
    // No ?manifest: scripts/serve's first dataset (annotations saved there, dropped
    // images embedded there), else ./manifest.json (the offline demo bundle), else
    // the open-files screen.
    app.data.manifest_url = "manifest.json";  // "loading" until decided
    platform_http(server_request(app.save.server, "GET", "api/datasets"), [&app](int code, std::string body, std::string) {
        json j = json::parse(body, nullptr, false);
        if (code == 200 && !j.is_discarded() && j.is_object() && j["datasets"].is_array() && !j["datasets"].empty() &&
            j["datasets"][0].is_object() && j["datasets"][0]["manifest"].is_string()) {
            app.data.server_embed = j["embed"].is_boolean() && j["embed"].get<bool>();
            return load_manifest(app, j["datasets"][0]["manifest"].get<std::string>(), true);
        }
        load_manifest(app, "manifest.json", true);
    });
}

void annotator_open_image(annotator &app, int index) {
    dataset_state &d = app.data;
    if (index < 0 || index >= (int)d.data.images.size()) return;
    if (detector_active(app.detector)) annotator_finish_detector(app);  // its embedding is about to go
    annotator_cancel_everything(app);
    d.current = index;
    const int generation = ++d.load_generation;
    d.image_ready = d.embedding_ready = false;
    d.embedding_failed = false;
    app.messages.image_errors.clear();
    prompt_reset(app.prompt);
    app.input = canvas_input_state{};
    proposals_load(app.proposals, d, app.messages);
    const manifest_image entry = d.data.images[(size_t)index];
    load_resource(d, resource_url(d, entry.file), [&app, generation, entry](const status &st, std::vector<uint8_t> &&bytes) {
        dataset_state &d = app.data;
        if (generation != d.load_generation) return;
        if (!st) return add_image_error(app.messages, st.message);
        image_u8 img;
        status ds = decode_image(bytes.data(), bytes.size(), entry.file, img);
        if (!ds) return add_image_error(app.messages, ds.message);
        if (img.width != entry.width || img.height != entry.height)
            return add_image_error(app.messages, entry.file + ": image is " + std::to_string(img.width) + "x" +
                                                     std::to_string(img.height) + " but the manifest says " +
                                                     std::to_string(entry.width) + "x" + std::to_string(entry.height));
        d.image = std::move(img);
        d.image_revision++;
        d.image_ready = true;
        // fitted now, so state() never pairs this image with the previous view
        app.canvas.view = view_fit(d.image.width, d.image.height, app.canvas.area);
        app.canvas.fit_pending = app.canvas.area.w <= 1;  // no frame laid out yet
    });
    // The embedding goes to the decoder: by URL (the worker fetches and parses it), or,
    // for a dropped .npy, parsed here and sent as data.
    const std::string url = resource_url(d, entry.embedding);
    if (!is_local_url(url)) {
        d.embedding_id = app.decoder.set_image(embedding_of(d, entry));
        return;
    }
    load_resource(d, url, [&app, generation, entry](const status &st, std::vector<uint8_t> &&bytes) {
        if (generation != app.data.load_generation) return;
        if (!st) return add_image_error(app.messages, st.message);
        decoder_embedding e;
        e.name = entry.embedding.substr(6);
        status es = embedding_from_npy(bytes.data(), bytes.size(), e.name, e.data);
        if (!es) return add_image_error(app.messages, es.message);
        app.data.embedding_id = app.decoder.set_image(std::move(e));
    });
}

void annotator_add_local_file(annotator &app, const std::string &name, std::vector<uint8_t> bytes) {
    const std::string text(bytes.begin(), bytes.end());
    if (ends_with(name, "classes.txt") || ends_with(name, ".names"))
        return detector_set_classes(app.detector, name, text, app.messages);
    if (ends_with(name, ".txt")) {
        if (const manifest_image *entry = detector_target(app, name)) {
            drop_prompt(app);
            detector_import_yolo(app.detector, name, text, *entry, app.data.data.spec, app.messages);
        }
        return;
    }
    if (ends_with(name, ".json") && is_detector_json(text)) {
        if (const manifest_image *entry = detector_target(app, name)) {
            drop_prompt(app);
            detector_import_coco(app.detector, name, text, *entry, app.data.data.spec, app.messages);
        }
        return;
    }
    if (ends_with(name, ".json")) return import_coco_file(app, name, text);
    dataset_state &d = app.data;
    const bool npy = ends_with(name, ".npy");
    if (!npy && d.server_embed && !app.save.server.dataset.empty() && app.save.restore_done)
        return upload_for_embedding(app, name, std::move(bytes));
    d.local_files["local:" + name] = std::move(bytes);
    (npy ? d.local_embedding : d.local_image) = name;
    if (!d.local_image.empty() && !d.local_embedding.empty() && d.local_files.count("local:" + d.local_image) &&
        d.local_files.count("local:" + d.local_embedding))
        open_local_pair(app);
    else
        add_notice(app.messages, npy ? "Now open or drop the image of " + name
                                     : "Now open or drop the .npy embedding of " + name);
}

void annotator_update(annotator &app, double now_ms, bool save) {
    dataset_state &d = app.data;
    decoder_check_fallback(app.choice, app.decoder, app.messages);
    if (d.embedding_id && app.decoder.embedding_id() == d.embedding_id) {
        if (app.decoder.embedding() == embedding_status::ready) d.embedding_ready = true;
        if (app.decoder.embedding() == embedding_status::failed && !d.embedding_failed) {
            d.embedding_failed = true;
            add_image_error(app.messages, app.decoder.embedding_error());
        }
    }
    decoder_result r;
    if (app.decoder.poll(r)) {
        std::string error;
        if (!prompt_take_result(app.prompt, std::move(r), now_ms, error) && !error.empty())
            add_error(app.messages, "decoder: " + error);
    }
    decoder_batch_result b;
    while (app.decoder.poll_batch(b))
        if (!everything_take(app.everything, app.proposals, app.decoder, b, app.messages, now_ms))
            detector_take(app.detector, b, app.messages);
    if (detector_all_back(app.detector)) annotator_finish_detector(app);
    if (d.image_ready && d.embedding_ready) {
        detector_tick(app.detector, app.decoder);
        everything_tick(app.everything, app.decoder);
    }
    if (app.prompt.tool == tool_kind::proposal && app.prompt.has_result && app.prompt.result_kind == request_kind::hover)
        prompt_clear_result(app.prompt);  // no hover preview over the proposals
    if (const manifest_image *entry = shown_entry(d)) {
        proposals_update_taken(app.proposals, app.doc.doc, entry->id);
        const double t0 = platform_now_ms();
        if (d.image_ready && overlay_update(app.overlay, app.doc.doc, entry->id, d.image.width, d.image.height,
                                            app.doc.selected_annotation, app.max_texture_size))
            app.timings.overlay_ms = platform_now_ms() - t0;
    }
    if (!save) return;
    const double t0 = platform_now_ms();
    const int writes = app.save.write_count;
    persistence_tick(app.save, app.doc, now_ms);
    if (app.save.write_count != writes) app.timings.save_ms = platform_now_ms() - t0;
}

bool annotator_wants_frame(const annotator &app) { return persistence_pending(app.save, app.doc); }

void annotator_clear_prompt(annotator &app) {
    app.prompt.shape = prompt_shape{};
    app.input.dragging_box = false;
    request_prompt(app);
}

void annotator_set_prompt(annotator &app, prompt_shape shape) {
    app.prompt.shape = std::move(shape);
    request_prompt(app);
}

void annotator_select_candidate(annotator &app, int number) { prompt_select_candidate(app.prompt, number); }

void annotator_accept(annotator &app, accept_merge merge) {
    const manifest_image *entry = shown_entry(app.data);
    const float *logits = prompt_selected_logits(app.prompt);
    if (!app.save.restore_done || !logits || !app.data.image_ready || !entry) return;
    accept_input in;
    in.low_res = logits;
    in.image_w = app.data.image.width;
    in.image_h = app.data.image.height;
    in.preprocess = app.data.data.spec.preprocess;
    in.image_id = entry->id;
    in.score = app.prompt.result.iou_predictions[(size_t)app.prompt.selected_output];
    for (const click_point &p : app.prompt.shape.points) in.prompts.points.push_back(prompt_point{p.x, p.y, p.label});
    in.prompts.has_box = app.prompt.shape.has_box;
    for (int i = 0; i < 4; ++i) in.prompts.box_xyxy[i] = app.prompt.shape.box[i];
    in.merge = merge;
    const double t0 = platform_now_ms();
    const accept_outcome out = accept_candidate(app.doc, in);
    app.timings.accept_ms = platform_now_ms() - t0;
    if (!out.st) return add_error(app.messages, "accept: " + out.st.message);
    if (!out.notice.empty()) add_notice(app.messages, out.notice);
    if (!out.accepted) return;
    app.prompt.shape = prompt_shape{};
    prompt_clear_result(app.prompt);
    app.prompt.hover_x = app.prompt.hover_y = -1;
}

int annotator_accept_proposal(annotator &app, int index) {
    const manifest_image *entry = shown_entry(app.data);
    if (!app.save.restore_done || !entry) return 0;
    document_ensure_category(app.doc);
    return proposals_accept(app.proposals, app.doc, entry->id, index, app.messages);
}

int annotator_accept_proposals_above(annotator &app, double min_iou) {
    const manifest_image *entry = shown_entry(app.data);
    if (!app.save.restore_done || !entry) return 0;
    document_ensure_category(app.doc);
    return proposals_accept_above(app.proposals, app.doc, entry->id, min_iou, app.messages);
}

void annotator_undo(annotator &app) {
    if (document_undo(app.doc) && !app.doc.doc.find_annotation(app.doc.selected_annotation))
        app.doc.selected_annotation = 0;
    document_ensure_category(app.doc);
}

void annotator_redo(annotator &app) {
    if (document_redo(app.doc) && !app.doc.doc.find_annotation(app.doc.selected_annotation))
        app.doc.selected_annotation = 0;
    document_ensure_category(app.doc);
}

void annotator_delete_selected(annotator &app) {
    if (!app.doc.selected_annotation) return;
    if (document_delete_annotation(app.doc, app.doc.selected_annotation)) app.doc.selected_annotation = 0;
}

void annotator_start_everything(annotator &app) {
    const manifest_image *entry = shown_entry(app.data);
    if (everything_active(app.everything) || detector_active(app.detector) || !entry || !app.data.image_ready ||
        !app.data.embedding_ready)
        return;
    status st = everything_start(app.everything, app.proposals, app.data.data.spec, app.data.image.height,
                                 app.data.image.width, entry->id, entry->file, platform_now_ms());
    if (!st) return add_error(app.messages, st.message);
    drop_prompt(app);
}

void annotator_cancel_everything(annotator &app) { everything_cancel(app.everything, app.proposals, app.decoder); }

void annotator_finish_detector(annotator &app) { detector_finish(app.detector, app.doc, app.decoder, app.messages); }

void annotator_resolve_conflict(annotator &app, bool take_theirs) {
    server_resolve(app.save.server, app.doc, take_theirs, app.messages);
}

std::string annotator_export_coco(const annotator &app, bool rle, bool all_images) {
    coco_export_options opt;
    opt.segmentation = rle ? coco_segmentation::rle : coco_segmentation::polygons;
    const manifest_image *entry = shown_entry(app.data);
    if (!all_images && entry) opt.image_id = entry->id;
    return coco_export(app.doc.doc, opt);
}

}  // namespace sam
