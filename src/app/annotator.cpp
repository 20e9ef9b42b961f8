#include "app/annotator.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/coco_json.h"
#include "core/embedding.h"
#include "core/box_prompts.h"
#include "core/exif.h"
#include "core/image_decode.h"
#include "core/yolo_seg.h"
#include "core/zip_reader.h"

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
        browser_encoding_start(app.encoding, app.data.manifest_url, app.data.data);
        annotator_open_image(app, 0);
    });
}

bool ends_with(std::string s, const std::string &suffix) {
    for (char &c : s) c = (char)std::tolower((unsigned char)c);
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The size of a local image as the decoder sees it (EXIF-oriented), from its header.
status local_image_size(const std::vector<uint8_t> &bytes, const std::string &name, int &w, int &h) {
    status st = probe_image_size(bytes.data(), bytes.size(), name, w, h);
    if (!st) return st;
    const int o = exif_orientation(bytes.data(), bytes.size());
    if (o >= 5 && o <= 8) std::swap(w, h);
    return status::success();
}

// The model that local images get: the open dataset's (or local session's), else model.json
// beside the page. Its files as absolute URLs (the local session has no folder of its own).
manifest local_model(const annotator &app) {
    const dataset_state &d = app.data;
    const bool from_page = !d.manifest_loaded && app.local.page_model == local_files_state::page_model_status::loaded;
    const manifest &src = from_page ? app.local.page_model_spec : d.data;
    const std::string base = from_page ? "model.json" : d.manifest_url;
    manifest m;
    m.version = 1;
    m.model_id = src.model_id.empty() ? "local files" : src.model_id;
    m.encoder_sha256 = src.encoder_sha256;
    m.browser_encoder = src.browser_encoder;
    if (!d.manifest_loaded && !from_page) return m;
    const auto absolute = [&base](const std::string &f) { return f.empty() ? f : platform_absolute_url(url_resolve(base, f)); };
    m.encoder = absolute(src.encoder);
    if (from_page) {  // else the decoder running now stays (decoder_choose keeps it)
        m.decoder = absolute(src.decoder);
        m.decoder_weights = absolute(src.decoder_weights);
    }
    return m;
}

// Local images (with their .npy, or to be encoded here) as a session of their own, or
// added to the local session already open.
void open_local_images(annotator &app, const local_plan &plan) {
    dataset_state &d = app.data;
    std::vector<manifest_image> added;
    std::vector<std::pair<std::string, std::string>> items = plan.pairs;
    for (const std::string &im : plan.encode) items.emplace_back(im, "");
    const bool append = d.manifest_url == "local:" && d.manifest_loaded;
    int reopen = -1;
    for (const auto &it : items) {
        const std::string url = "local:" + it.first;
        for (size_t i = 0; append && i < d.data.images.size(); ++i)
            if (d.data.images[i].file == url) {
                if (!it.second.empty()) d.data.images[i].embedding = "local:" + it.second;
                reopen = (int)i;
            }
        if (reopen >= 0 && d.data.images[(size_t)reopen].file == url) continue;
        manifest_image e;
        e.file = url;
        e.embedding = it.second.empty() ? "" : "local:" + it.second;
        status st = local_image_size(d.local_files[url], it.first, e.width, e.height);
        if (!st) {
            add_error(app.messages, st.message);
            continue;
        }
        added.push_back(std::move(e));
    }
    if (added.empty()) {
        if (reopen >= 0) annotator_open_image(app, reopen);
        return;
    }
    if (append) {
        int next_id = 1;
        for (const manifest_image &im : d.data.images) next_id = std::max(next_id, im.id + 1);
        const int first = (int)d.data.images.size();
        for (manifest_image &e : added) {
            e.id = next_id++;
            if (e.embedding.empty()) app.encoding.total++;
            d.data.images.push_back(e);
            document_ensure_image(app.doc, doc_image{e.id, coco_file_name(e), e.width, e.height});
        }
        return annotator_open_image(app, first);
    }
    app.messages.errors.clear();
    manifest m = local_model(app);
    for (size_t i = 0; i < added.size(); ++i) added[i].id = (int)i + 1;
    m.images = std::move(added);
    d.data = std::move(m);
    d.manifest_url = "local:";
    d.manifest_loaded = true;
    d.current = -1;
    document_reset(app.doc, manifest_doc_images(d.data));
    // the same pictures opened again find their autosave
    const std::string first = d.data.images[0].file.substr(6);
    app.save.key = "local:" + first + ":" + std::to_string(d.local_files[d.data.images[0].file].size());
    app.save.server = server_sync_state{};
    app.save.server.token.clear();
    start_restore(app);
    decoder_choose(app.choice, app.decoder, d.manifest_url, d.data, d.decoder_url);
    browser_encoding_start(app.encoding, d.manifest_url, d.data);
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

// This batch's YOLO label files: segmentation labels become annotations of every image
// they match (one undo step); detector boxes run on the shown image (the file of its
// stem, or the only file).
void import_label_files(annotator &app) {
    local_files_state &l = app.local;
    std::vector<yolo_label_file> seg = std::move(l.segmentation);
    std::vector<std::pair<std::string, std::string>> boxes = std::move(l.boxes);
    const std::string names_file = l.names_file;
    std::vector<std::string> names = l.names;
    l.segmentation.clear();
    l.boxes.clear();
    l.names_file.clear();
    l.names.clear();
    if (names_file.empty() && !app.detector.yolo_classes.empty()) names = app.detector.yolo_classes;
    // A file without label lines (an image with no instances, as exports write them) goes
    // with the segmentation labels when there are any, else it says nothing.
    for (size_t i = boxes.size(); i-- > 0;)
        if (!has_label_lines(boxes[i].second)) {
            if (!seg.empty()) seg.push_back(yolo_label_file{label_path_in_folder(boxes[i].first), boxes[i].second});
            boxes.erase(boxes.begin() + (std::ptrdiff_t)i);
        }
    if (!seg.empty()) {
        if (!app.save.restore_done || !app.data.manifest_loaded) {
            add_error(app.messages, seg[0].path + ": open a dataset or images before importing YOLO segmentation labels");
        } else {
            yolo_seg_import_report rep;
            status st = document_import_yolo_seg(app.doc, seg, names, rep);
            if (!st) add_error(app.messages, st.message);
            const size_t shown = std::min<size_t>(rep.problems.size(), 20);
            for (size_t i = 0; i < shown; ++i) add_error(app.messages, rep.problems[i]);
            if (rep.problems.size() > shown)
                add_error(app.messages, std::to_string(rep.problems.size() - shown) + " more label problems not listed");
            document_ensure_category(app.doc);
            std::string notice = "Imported " + std::to_string(rep.annotations_added) + " annotations from " +
                                 std::to_string(rep.files_matched) + " YOLO segmentation label file(s)";
            if (!names_file.empty()) notice += " (class names from " + names_file + ")";
            if (!rep.unmatched.empty())
                notice += "; " + std::to_string(rep.unmatched.size()) + " matched no image (" + rep.unmatched[0] +
                          (rep.unmatched.size() > 1 ? ", ..." : "") + ")";
            add_notice(app.messages, notice);
        }
    }
    if (boxes.empty()) return;
    const manifest_image *entry = detector_target(app, boxes[0].first);
    if (!entry) return;
    const auto *file = boxes.size() == 1 ? &boxes[0] : nullptr;
    for (const auto &b : boxes)
        if (file_stem(b.first) == file_stem(entry->file)) file = &b;
    if (!file)
        return add_error(app.messages, "none of the " + std::to_string(boxes.size()) + " detector label files dropped is " +
                                           file_stem(entry->file) + ".txt, the shown image's");
    drop_prompt(app);
    detector_import_yolo(app.detector, file->first, file->second, *entry, app.data.data.spec, app.messages);
}

void set_computed_embedding(annotator &app, const manifest_image &entry, const std::vector<float> &data) {
    decoder_embedding e;
    e.name = coco_file_name(entry) + " (encoded in the browser)";
    e.data = data;  // the scheduler keeps one copy (for a backend change), the worker gets another
    app.data.embedding_id = app.decoder.set_image(std::move(e));
}

void request_encoding(annotator &app, int index, const manifest_image &entry, const std::vector<uint8_t> &bytes) {
    if (!browser_encoding_allowed(app.data.data, app.encoding.asked)) return;
    browser_encoding_load(app.encoding, app.data.manifest_url, app.data.data);
    browser_encoding_request(app.encoding, index, coco_file_name(entry), bytes);
}

// An embedding (or a refusal) from the encoder: kept, and given to the decoder when it is
// the shown image's. Errors name the file; a cache that could not be written is said once.
void take_encoded(annotator &app, encoded_image x) {
    dataset_state &d = app.data;
    if (x.index < 0 || x.index >= (int)d.data.images.size()) return;
    const manifest_image &entry = d.data.images[(size_t)x.index];
    const bool shown = x.index == d.current;
    encoder_result &r = x.r;
    if (r.ok && (r.width != entry.width || r.height != entry.height)) {
        r.ok = false;
        r.error = coco_file_name(entry) + ": image is " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                  " but the manifest says " + std::to_string(entry.width) + "x" + std::to_string(entry.height);
        app.encoding.failed.insert(x.index);
    }
    if (!r.ok) return shown ? add_image_error(app.messages, r.error) : add_error(app.messages, r.error);
    if (!r.cache_error.empty()) {
        app.encoding.cache_error = coco_file_name(entry) + ": " + r.cache_error;
        if (!app.encoding.cache_error_reported) {
            app.encoding.cache_error_reported = true;
            add_error(app.messages, app.encoding.cache_error +
                                        "; annotation goes on, but embeddings are not kept in this browser and will be "
                                        "computed again next time (free some storage to keep them)");
        }
    }
    browser_encoding_keep(app.encoding, x.index, std::move(r.embedding));
    if (!shown || app.data.embedding_ready) return;
    browser_encoding_state::shown_info &info = app.encoding.shown;
    info.index = x.index;
    info.cached = r.cached;
    info.prep_ms = r.prep_ms;
    info.encode_ms = r.encode_ms;
    info.round_trip_ms = x.round_trip_ms;
    set_computed_embedding(app, entry, *browser_encoding_embedding(app.encoding, x.index));
}

// Encoder results, the next encoder job, and the encoder of a model that declares one
// loaded ahead, at a quiet moment, for the photos a person may drop next.
void update_encoding(annotator &app, double now_ms) {
    browser_encoding_state &e = app.encoding;
    dataset_state &d = app.data;
    if (e.status == encoder_status::failed && !e.error_reported) {
        e.error_reported = true;
        add_error(app.messages, "in-browser encoder: " + e.error);
    }
    encoded_image x;
    while (browser_encoding_poll(e, x)) take_encoded(app, std::move(x));
    browser_encoding_preload(e, d, now_ms, !app.decoder.busy());
    browser_encoding_tick(e, d, now_ms, !app.decoder.busy());
}

}  // namespace

const std::vector<float> *annotator_shown_embedding(const annotator &app) {
    const manifest_image *entry = shown_entry(app.data);
    if (!entry || !entry->embedding.empty()) return nullptr;
    return browser_encoding_embedding(app.encoding, app.data.current);
}

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
    d.embedding_id = 0;  // until this image's embedding reaches the decoder (no stale "ready")
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
        const int index = d.current;
        // No embedding file: the encoder starts on the bytes while the app decodes them too.
        if (entry.embedding.empty() && !browser_encoding_embedding(app.encoding, index))
            request_encoding(app, index, entry, bytes);
        image_u8 img;
        status ds = decode_image(bytes.data(), bytes.size(), entry.file, img);
        if (!ds) {
            browser_encoding_forget(app.encoding, index);  // its own error would say the same again
            return add_image_error(app.messages, ds.message);
        }
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
    // for a dropped .npy or one computed in the browser, as data.
    app.encoding.shown = browser_encoding_state::shown_info{};
    if (entry.embedding.empty()) {
        if (const std::vector<float> *kept = browser_encoding_embedding(app.encoding, index)) {
            app.encoding.shown.index = index;
            app.encoding.shown.from_memory = true;
            set_computed_embedding(app, entry, *kept);
        } else if (!browser_encoding_allowed(d.data, app.encoding.asked)) {
            add_image_error(app.messages, coco_file_name(entry) + ": no embedding, and the model names no encoder that runs "
                                                                  "in the browser (compute it with scripts/embed)");
        }
        return;
    }
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
    local_files_state &l = app.local;
    switch (local_file_kind(name, bytes)) {
        case local_kind::zip: {
            std::vector<zip_entry> entries;
            std::vector<std::string> notes;
            status st = zip_read(bytes.data(), bytes.size(), name, entries, notes);
            for (const std::string &n : notes) add_notice(app.messages, n);
            if (!st) return add_error(app.messages, st.message);
            for (zip_entry &e : entries)
                if (local_file_kind(e.name, e.data) != local_kind::zip)  // one level of archives
                    annotator_add_local_file(app, name + "/" + e.name, std::move(e.data));
            return;
        }
        case local_kind::class_names: {
            const std::string text(bytes.begin(), bytes.end());
            detector_set_classes(app.detector, name, text, app.messages);
            if (l.names_file.empty() || !ends_with(l.names_file, ".yaml")) {
                l.names_file = name;
                l.names = parse_yolo_classes(text);
            }
            return;
        }
        case local_kind::data_yaml: {
            std::vector<std::string> names, problems;
            status st = parse_yolo_data_yaml(std::string(bytes.begin(), bytes.end()), name, names, problems);
            for (const std::string &p : problems) add_notice(app.messages, p);
            if (!st) return add_error(app.messages, st.message);
            l.names_file = name;
            l.names = std::move(names);
            return;
        }
        case local_kind::labels_txt: {
            std::string text(bytes.begin(), bytes.end());
            if (is_yolo_segmentation_text(text)) l.segmentation.push_back(yolo_label_file{label_path_in_folder(name), std::move(text)});
            else l.boxes.emplace_back(name, std::move(text));
            return;
        }
        case local_kind::coco_json: {
            const std::string text(bytes.begin(), bytes.end());
            if (!is_detector_json(text)) return import_coco_file(app, name, text);
            if (const manifest_image *entry = detector_target(app, name)) {
                drop_prompt(app);
                detector_import_coco(app.detector, name, text, *entry, app.data.data.spec, app.messages);
            }
            return;
        }
        case local_kind::other: return add_notice(app.messages, name + ": not an image, embedding or label file; skipped");
        case local_kind::embedding:
        case local_kind::image: break;
    }
    dataset_state &d = app.data;
    const bool npy = ends_with(name, ".npy");
    if (!npy && d.server_embed && !app.save.server.dataset.empty() && app.save.restore_done)
        return upload_for_embedding(app, name, std::move(bytes));
    d.local_files["local:" + name] = std::move(bytes);
    (npy ? l.embeddings : l.images).push_back(name);
}

void annotator_local_files_done(annotator &app) {
    local_files_state &l = app.local;
    import_label_files(app);
    if (l.images.empty() && l.embeddings.empty()) return;
    const manifest model = local_model(app);
    const bool known = app.data.manifest_loaded || l.page_model == local_files_state::page_model_status::loaded ||
                       l.page_model == local_files_state::page_model_status::none;
    if (!known && !browser_encoding_allowed(model, app.encoding.asked) && !l.images.empty()) {
        // No dataset gave a model: model.json beside the page may (then this runs again).
        if (l.page_model == local_files_state::page_model_status::loading) return;
        l.page_model = local_files_state::page_model_status::loading;
        return platform_fetch("model.json", [&app](const status &st, std::vector<uint8_t> &&bytes) {
            local_files_state &l = app.local;
            l.page_model = local_files_state::page_model_status::none;
            if (st) {
                status ps = model_json_parse(std::string(bytes.begin(), bytes.end()), "model.json", l.page_model_spec);
                if (ps) l.page_model = local_files_state::page_model_status::loaded;
                else add_error(app.messages, ps.message);
            }
            annotator_local_files_done(app);
        });
    }
    const local_plan plan = local_files_plan(l, browser_encoding_allowed(model, app.encoding.asked));
    for (const std::string &im : l.images) add_notice(app.messages, "Now open or drop the .npy embedding of " + im);
    for (const std::string &e : l.embeddings) add_notice(app.messages, "Now open or drop the image of " + e);
    if (!plan.pairs.empty() || !plan.encode.empty()) open_local_images(app, plan);
}

void annotator_update(annotator &app, double now_ms, bool save) {
    dataset_state &d = app.data;
    decoder_check_fallback(app.choice, app.decoder, app.messages);
    update_encoding(app, now_ms);
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

status annotator_export_zip(const annotator &app, export_format format, bool all_images, std::vector<uint8_t> &zip,
                            std::string &file_name, export_report &report) {
    export_options opt;
    const manifest_image *entry = shown_entry(app.data);
    if (!all_images && entry) opt.coco.image_id = entry->id;
    file_name = std::string(export_format_name(format)) + (all_images || !entry ? "" : "_" + file_stem(entry->file)) + ".zip";
    return export_zip(app.doc.doc, format, opt, zip, report);
}

std::string annotator_export_coco(const annotator &app, bool rle, bool all_images) {
    coco_export_options opt;
    opt.segmentation = rle ? coco_segmentation::rle : coco_segmentation::polygons;
    const manifest_image *entry = shown_entry(app.data);
    if (!all_images && entry) opt.image_id = entry->id;
    return coco_export(app.doc.doc, opt);
}

}  // namespace sam
