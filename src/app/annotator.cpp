#include "app/annotator.h"

#include <GLFW/glfw3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "app/annotation_overlay.h"
#include "app/annotator_parts.h"
#include "app/platform.h"
#include "core/coco_json.h"
#include "core/mask_postprocess.h"
#include "core/rle.h"
#include "core/embedding.h"
#include "core/image_decode.h"
#include "core/resize_longest_side.h"
#include "imgui.h"

namespace sam {

constexpr int kLowRes = 256;

namespace {

// SAM's ONNX select_masks rule: with N prompt points (padding and box corners
// included) N >= 3 takes the single-mask token 0, otherwise the best of the
// multimask outputs 1..3 by predicted IoU.
int default_output(const decoder_result &r, int n_points) {
    if (r.mask_count <= 1) return 0;
    int first = r.mask_count == 4 ? 1 : 0;
    if (r.mask_count == 4 && n_points >= 3) return 0;
    int best = first;
    for (int i = first; i < r.mask_count; ++i)
        if (r.iou_predictions[i] > r.iou_predictions[best]) best = i;
    return best;
}

bool prompt_empty(const annotator &app) { return app.points.empty() && !app.has_box; }

}  // namespace

void send_request(annotator &app, request_kind kind, const std::vector<click_point> &points, bool has_box,
                  const double *box) {
    if (!app.dec || !app.image_ready || !app.embedding_ready || app.dec->status() != decoder_status::ready) return;
    // Detector boxes own the decoder while they run: a newer request would replace theirs.
    if ((kind == request_kind::hover || kind == request_kind::prompt) && (detector_active(app) || everything_active(app)))
        return;
    // Prompt frame: original pixels -> the resized 1024 frame, exactly as the
    // official predictor's ResizeLongestSide.apply_coords / apply_boxes.
    const image_shape original{app.image.height, app.image.width};
    decoder_request r;
    for (const click_point &p : points) {
        double xy[2] = {p.x, p.y};
        apply_coords(xy, 1, original);
        r.point_coords.push_back((float)xy[0]);
        r.point_coords.push_back((float)xy[1]);
        r.point_labels.push_back((float)p.label);
    }
    if (has_box) {
        double b[4] = {box[0], box[1], box[2], box[3]};
        apply_boxes(b, 1, original);
        r.point_coords.insert(r.point_coords.end(), {(float)b[0], (float)b[1], (float)b[2], (float)b[3]});
        r.point_labels.insert(r.point_labels.end(), {2.0f, 3.0f});
    } else {
        r.point_coords.insert(r.point_coords.end(), {0.0f, 0.0f});
        r.point_labels.push_back(-1.0f);
    }
    // Iterative refinement as in SAM: the previous prompt's chosen low-res
    // logits go back in as mask_input.
    if (kind == request_kind::prompt && app.has_result && app.result_kind == request_kind::prompt &&
        app.selected_output >= 0) {
        const float *m = app.result.low_res_masks.data() + (size_t)app.selected_output * kLowRes * kLowRes;
        r.mask_input.assign(m, m + kLowRes * kLowRes);
    }
    r.orig_h = app.image.height;
    r.orig_w = app.image.width;
    int n_points = (int)r.point_labels.size();
    app.last_request_has_mask_input = !r.mask_input.empty();
    uint64_t id = app.dec->request(std::move(r));
    app.last_request_id = id;
    app.requests_sent++;
    app.request_kinds[id] = annotator::request_info{kind, platform_last_input_ms(), platform_now_ms(), n_points};
    if (kind == request_kind::detector_box) app.detector_request = id;
    if (kind == request_kind::everything_point) app.everything_request = id;
}

namespace {

void request_prompt(annotator &app) {
    if (prompt_empty(app)) {
        app.has_result = false;
        app.selected_output = -1;
        show_selected_logits(app);
        app.hover_x = app.hover_y = -1;  // re-arm the hover preview
        return;
    }
    send_request(app, request_kind::prompt, app.points, app.has_box, app.box);
}

void poll_decoder(annotator &app) {
    if (!app.dec) return;
    decoder_result r;
    if (!app.dec->poll(r)) return;
    annotator::request_info info;
    auto it = app.request_kinds.find(r.request_id);
    if (it != app.request_kinds.end()) info = it->second;
    request_kind kind = info.kind;
    app.request_kinds.erase(app.request_kinds.begin(), app.request_kinds.upper_bound(r.request_id));
    if (kind == request_kind::detector_box) return detector_result(app, r);
    if (kind == request_kind::everything_point) return everything_result(app, r);
    if (!r.error.empty()) {
        add_error(app, "decoder: " + r.error);
        return;
    }
    // a click superseded the preview; a cleared or accepted prompt wants no late result
    if ((kind == request_kind::hover) != prompt_empty(app)) return;
    if (r.mask_count <= 0 || (int)r.low_res_masks.size() != r.mask_count * kLowRes * kLowRes) {
        add_error(app, "decoder: unexpected low_res_masks size");
        return;
    }
    double now = platform_now_ms();
    app.last_round_trip_ms = now - info.sent_ms;
    app.last_mask_frame = annotator::mask_frame{r.request_id, info.input_ms, now, 0};
    app.mask_frame_pending = true;
    app.result_request_id = r.request_id;
    app.result = std::move(r);
    app.has_result = true;
    app.result_kind = kind;
    app.decode_count++;
    app.last_decode_ms = app.result.decode_ms;
    app.selected_output = default_output(app.result, info.n_points);
    show_selected_logits(app);
}

// ---- loading ---------------------------------------------------------------

bool is_local(const std::string &url) { return url.compare(0, 6, "local:") == 0; }

// A dataset path as a URL: local files by their "local:" name, the rest against the manifest.
std::string resource_url(const annotator &app, const std::string &relative) {
    return is_local(relative) ? relative : url_resolve(app.manifest_url, relative);
}

// platform_fetch, or the bytes of a local file.
void load_resource(annotator &app, const std::string &url, fetch_callback done) {
    if (!is_local(url)) return platform_fetch(url, std::move(done));
    auto it = app.local_files.find(url);
    if (it == app.local_files.end()) return done(status::failure(url.substr(6) + ": not opened"), {});
    std::vector<uint8_t> copy = it->second;
    done(status::success(), std::move(copy));
}

void update_overlay(annotator &app) {
    if (!app.image_ready || app.current < 0) return;
    int64_t image_id = app.dataset.images[app.current].id;
    if (!app.overlay_dirty && app.overlay_revision == app.doc.revision() &&
        app.overlay_selected == app.selected_annotation && app.overlay_image == image_id)
        return;
    paint_annotation_overlay(app.doc, image_id, app.selected_annotation, app.renderer.texture_w,
                             app.renderer.texture_h, app.overlay_rgba);
    canvas_renderer_set_annotations(app.renderer, app.overlay_rgba.data());
    app.overlay_dirty = false;
    app.overlay_revision = app.doc.revision();
    app.overlay_selected = app.selected_annotation;
    app.overlay_image = image_id;
}

// The prompt overlay takes the current category's colour.
void update_prompt_colour(annotator &app) {
    if (const doc_category *c = app.doc.find_category(app.current_category)) {
        app.renderer.fill[0] = c->color.r / 255.0f;
        app.renderer.fill[1] = c->color.g / 255.0f;
        app.renderer.fill[2] = c->color.b / 255.0f;
    }
}

void start_decoder_load(annotator &app) {
    std::string url = !app.decoder_url.empty() ? app.decoder_url
                      : !app.dataset.decoder.empty() ? url_resolve(app.manifest_url, app.dataset.decoder)
                      : !app.decoder_loaded_url.empty() ? app.decoder_loaded_url  // local files: keep the one we have
                                                        : "decoder.onnx";  // beside index.html
    if (url == app.decoder_loaded_url) return;
    app.decoder_loaded_url = url;
    app.dec->load(url);
}

}  // namespace

void add_error(annotator &app, std::string message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    app.errors.push_back(std::move(message));
}

// Errors about the shown image's files; cleared when another image opens.
void add_image_error(annotator &app, std::string message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    app.image_errors.push_back(std::move(message));
}

void show_selected_logits(annotator &app) {
    if (!app.has_result || app.selected_output < 0 || app.selected_output >= app.result.mask_count) {
        canvas_renderer_set_logits(app.renderer, nullptr);
        return;
    }
    canvas_renderer_set_logits(app.renderer,
                               app.result.low_res_masks.data() + (size_t)app.selected_output * kLowRes * kLowRes);
}

void ensure_category(annotator &app) {
    if (app.doc.categories().empty()) {
        int64_t id = 0;
        app.doc.add_category("object", rgb8{30, 144, 255}, &id);
    }
    if (!app.doc.find_category(app.current_category)) app.current_category = app.doc.categories().front().id;
}

// COCO file_name of a manifest image: its path inside images/ ("images/a/b.jpg" -> "a/b.jpg").
std::string coco_file_name(const manifest_image &im) {
    for (const std::string prefix : {"images/", "local:"})
        if (im.file.compare(0, prefix.size(), prefix) == 0) return im.file.substr(prefix.size());
    return im.file;
}

annotator &annotator_instance() {
    static annotator app;
    return app;
}

bool annotator::ui_ready() const {
    if (!renderer_ok) return false;
    if (manifest_url.empty() || !errors.empty() || !image_errors.empty()) return true;
    if (dec && dec->status() == decoder_status::failed) return true;
    return image_ready && embedding_ready && restore_done && dec && dec->status() == decoder_status::ready;
}

namespace {

void load_manifest(annotator &app, const std::string &url, bool optional) {
    app.manifest_url = url;
    platform_fetch(app.manifest_url, [&app, optional](const status &st, std::vector<uint8_t> &&bytes) {
        if (!st && optional) {
            app.manifest_url.clear();  // none: show the open-files screen
            return;
        }
        if (!st) return add_error(app, st.message);
        status ps = manifest_parse(std::string(bytes.begin(), bytes.end()), app.manifest_url, app.dataset);
        if (!ps) return add_error(app, ps.message);
        app.manifest_loaded = true;
        if (app.dataset.images.empty()) return add_error(app, app.manifest_url + ": no images");
        status ds = reset_document(app);
        if (!ds) return add_error(app, app.manifest_url + ": " + ds.message);
        app.storage_key = "manifest:" + absolute_url(app.manifest_url);
        app.server_dataset = served_dataset_name(app.manifest_url);
        start_restore(app);
        start_decoder_load(app);
        annotator_open_image(app, 0);
    });
}

}  // namespace

void annotator_init(annotator &app, const std::string &manifest_url, const std::string &decoder_url) {
    app.renderer_ok = canvas_renderer_init(app.renderer);
    if (!app.renderer_ok) add_error(app, "WebGL2 shaders failed to build (see console)");
    app.dec = platform_make_decoder();
    app.decoder_url = decoder_url;
    if (!manifest_url.empty()) return load_manifest(app, manifest_url, false);
    // No ?manifest: scripts/serve's first dataset (annotations saved there, dropped
    // images embedded there), else ./manifest.json (the offline demo bundle), else
    // the open-files screen.
    app.manifest_url = "manifest.json";  // "loading" until decided
    http_request r;
    r.url = "api/datasets";
    platform_http(r, [&app](int code, std::string body, std::string) {
        using json = nlohmann::json;
        json j = json::parse(body, nullptr, false);
        if (code == 200 && !j.is_discarded() && j.is_object() && j["datasets"].is_array() && !j["datasets"].empty() &&
            j["datasets"][0].is_object() && j["datasets"][0]["manifest"].is_string()) {
            app.server_embed = j["embed"].is_boolean() && j["embed"].get<bool>();
            return load_manifest(app, j["datasets"][0]["manifest"].get<std::string>(), true);
        }
        load_manifest(app, "manifest.json", true);
    });
}

void annotator_open_image(annotator &app, int index) {
    if (index < 0 || index >= (int)app.dataset.images.size()) return;
    if (detector_active(app)) detector_finish(app);  // its embedding is about to go
    everything_cancel(app);
    app.current = index;
    int generation = ++app.load_generation;
    app.image_ready = app.embedding_ready = false;
    app.image_errors.clear();
    app.points.clear();
    app.has_box = false;
    app.has_result = false;
    app.selected_output = -1;
    app.hover_x = app.hover_y = -1;
    canvas_renderer_set_logits(app.renderer, nullptr);
    load_proposals(app);
    const manifest_image entry = app.dataset.images[index];
    load_resource(app, resource_url(app, entry.file),
                   [&app, generation, entry](const status &st, std::vector<uint8_t> &&bytes) {
                       if (generation != app.load_generation) return;
                       if (!st) return add_image_error(app, st.message);
                       image_u8 img;
                       status ds = decode_image(bytes.data(), bytes.size(), entry.file, img);
                       if (!ds) return add_image_error(app, ds.message);
                       if (img.width != entry.width || img.height != entry.height)
                           return add_image_error(app, entry.file + ": image is " + std::to_string(img.width) + "x" +
                                                     std::to_string(img.height) + " but the manifest says " +
                                                     std::to_string(entry.width) + "x" +
                                                     std::to_string(entry.height));
                       app.image = std::move(img);
                       canvas_renderer_set_image(app.renderer, app.image);
                       app.image_ready = true;
                       // fitted now, so state() never pairs this image with the previous view
                       app.view = view_fit(app.image.width, app.image.height, app.area);
                       app.fit_pending = app.area.w <= 1;  // no frame laid out yet
                   });
    load_resource(app, resource_url(app, entry.embedding),
                   [&app, generation, entry](const status &st, std::vector<uint8_t> &&bytes) {
                       if (generation != app.load_generation) return;
                       if (!st) return add_image_error(app, st.message);
                       std::vector<float> emb;
                       status es = embedding_from_npy(bytes.data(), bytes.size(), entry.embedding, emb);
                       if (!es) return add_image_error(app, es.message);
                       app.dec->set_embedding(std::move(emb));
                       app.request_kinds.clear();
                       app.embedding_ready = true;
                   });
}

namespace {

bool ends_with(std::string s, const std::string &suffix) {
    for (char &c : s) c = (char)std::tolower((unsigned char)c);
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The newest image + embedding pair as a one-image dataset.
void open_local_pair(annotator &app) {
    const std::string image_url = "local:" + app.local_image, npy_url = "local:" + app.local_embedding;
    const std::vector<uint8_t> &bytes = app.local_files[image_url];
    image_u8 img;
    status st = decode_image(bytes.data(), bytes.size(), app.local_image, img);
    if (!st) return add_error(app, st.message);
    app.errors.clear();
    app.dataset = manifest{};
    app.dataset.version = 1;
    app.dataset.model_id = "local files";
    app.dataset.images.push_back(manifest_image{1, image_url, img.width, img.height, "", npy_url, ""});
    app.manifest_url = "local:";
    app.manifest_loaded = true;
    app.current = -1;
    reset_document(app);
    // the same picture opened again finds its autosave
    app.storage_key = "local:" + app.local_image + ":" + std::to_string(bytes.size());
    app.server_dataset.clear();
    start_restore(app);
    start_decoder_load(app);
    annotator_open_image(app, 0);
}

}  // namespace

void annotator_add_local_file(annotator &app, const std::string &name, std::vector<uint8_t> bytes) {
    if (ends_with(name, "classes.txt") || ends_with(name, ".names"))
        return set_yolo_classes(app, name, std::string(bytes.begin(), bytes.end()));
    if (ends_with(name, ".txt")) return import_detector_yolo(app, name, std::string(bytes.begin(), bytes.end()));
    if (ends_with(name, ".json") && is_detector_json(std::string(bytes.begin(), bytes.end())))
        return import_detector_coco(app, name, std::string(bytes.begin(), bytes.end()));
    if (ends_with(name, ".json")) {
        if (!app.restore_done) return add_error(app, name + ": open a dataset or an image before importing COCO");
        coco_import_options opt;
        opt.add_unknown_images = false;
        opt.match_base_name = true;
        coco_import_report rep;
        status st = coco_import(std::string(bytes.begin(), bytes.end()), name, app.doc, rep, opt);
        if (!st) return add_error(app, st.message);
        ensure_category(app);
        app.notices.push_back("Imported " + std::to_string(rep.annotations_added) + " annotations from " + name +
                              (rep.annotations_skipped ? " (" + std::to_string(rep.annotations_skipped) +
                                                             " on images not open here skipped)"
                                                       : ""));
        return;
    }
    bool npy = ends_with(name, ".npy");
    if (!npy && app.server_embed && !app.server_dataset.empty() && app.restore_done)
        return upload_for_embedding(app, name, std::move(bytes));
    app.local_files["local:" + name] = std::move(bytes);
    (npy ? app.local_embedding : app.local_image) = name;
    if (!app.local_image.empty() && !app.local_embedding.empty() &&
        app.local_files.count("local:" + app.local_image) && app.local_files.count("local:" + app.local_embedding))
        open_local_pair(app);
    else
        app.notices.push_back(npy ? "Now open or drop the image of " + name : "Now open or drop the .npy embedding of " + name);
}

void annotator_mouse_button(annotator &app, int button, int action, double x, double y) {
    if (button < 0 || button > 2 || action != GLFW_RELEASE) return;
    app.release_x[button] = x;
    app.release_y[button] = y;
}

void annotator_key_pressed(annotator &app, int glfw_key, int mods) {
    app.pressed_keys.push_back(annotator::key_press{glfw_key, mods});
}

void annotator_clear_prompt(annotator &app) {
    app.points.clear();
    app.has_box = false;
    app.dragging_box = false;
    request_prompt(app);
}

void annotator_select_candidate(annotator &app, int number) {
    if (!app.has_result) return;
    int index = app.result.mask_count == 4 ? number : number - 1;
    if (index < 0 || index >= app.result.mask_count) return;
    app.selected_output = index;
    show_selected_logits(app);
}

void annotator_accept(annotator &app, accept_merge merge) {
    if (!app.restore_done || !app.has_result || !app.image_ready || app.selected_output < 0 ||
        app.selected_output >= app.result.mask_count || app.current < 0)
        return;
    const int h = app.image.height, w = app.image.width;
    const float *low = app.result.low_res_masks.data() + (size_t)app.selected_output * kLowRes * kLowRes;
    // Full resolution only here, on accept: the official postprocess_masks, thresholded at 0.
    image_shape in = get_preprocess_shape(h, w);
    rle mask = mask_to_rle(postprocess_to_mask(low, in.height, in.width, h, w));
    if (rle_area(mask) == 0) {
        app.notices.push_back("The selected mask is empty: nothing accepted");
        return;
    }
    ensure_doc_image(app);
    const int64_t image_id = app.dataset.images[app.current].id;
    annotation_prompts prompts;
    for (const click_point &p : app.points) prompts.points.push_back(prompt_point{p.x, p.y, p.label});
    prompts.has_box = app.has_box;
    for (int i = 0; i < 4; ++i) prompts.box_xyxy[i] = app.box[i];
    double score = app.result.iou_predictions[app.selected_output];
    status st;
    if (merge == accept_merge::none) {
        annotation a;
        a.image_id = image_id;
        a.category_id = app.current_category;
        a.mask = std::move(mask);
        a.score = score;
        a.prompts = prompts;
        int64_t id = 0;
        st = app.doc.add_annotation(std::move(a), &id);
        if (st) app.selected_annotation = id;
    } else {
        const annotation *a = app.doc.find_annotation(app.selected_annotation);
        if (!a || a->image_id != image_id) {
            app.notices.push_back("Select an annotation of this image to merge into");
            return;
        }
        rle merged = rle_merge(a->mask, mask, merge == accept_merge::add ? rle_merge_op::union_ : rle_merge_op::subtract);
        if (rle_area(merged) == 0) {
            st = app.doc.delete_annotation(a->id);  // subtracting everything leaves nothing
            app.selected_annotation = 0;
        } else {
            // a person edited it: a machine-made mask becomes theirs (one undo step)
            const int64_t id = a->id;
            app.doc.begin_group("edit mask");
            st = app.doc.replace_annotation_mask(id, std::move(merged));
            if (st) st = app.doc.confirm_annotation(id);
            if (st) app.doc.end_group();
            else app.doc.cancel_group();
        }
    }
    if (!st) return add_error(app, "accept: " + st.message);
    app.points.clear();
    app.has_box = false;
    app.has_result = false;
    app.selected_output = -1;
    show_selected_logits(app);
    app.hover_x = app.hover_y = -1;
}

void ensure_doc_image(annotator &app) {
    if (app.current < 0) return;
    const manifest_image &entry = app.dataset.images[app.current];
    if (!app.doc.find_image(entry.id)) app.doc.add_image(doc_image{entry.id, coco_file_name(entry), entry.width, entry.height});
}

void annotator_undo(annotator &app) {
    if (app.doc.undo() && !app.doc.find_annotation(app.selected_annotation)) app.selected_annotation = 0;
    ensure_category(app);
}

void annotator_redo(annotator &app) {
    if (app.doc.redo() && !app.doc.find_annotation(app.selected_annotation)) app.selected_annotation = 0;
    ensure_category(app);
}

void annotator_delete_selected(annotator &app) {
    if (!app.selected_annotation) return;
    if (app.doc.delete_annotation(app.selected_annotation)) app.selected_annotation = 0;
}

std::string annotator_export_coco(const annotator &app, bool rle, bool all_images) {
    coco_export_options opt;
    opt.segmentation = rle ? coco_segmentation::rle : coco_segmentation::polygons;
    if (!all_images && app.current >= 0) opt.image_id = app.dataset.images[app.current].id;
    return coco_export(app.doc, opt);
}

// ---- UI ----------------------------------------------------------------------

namespace {


click_point image_pixel_at(const annotator &app, double cx, double cy) {
    click_point p;
    p.x = std::floor(app.view.to_image_x(cx));
    p.y = std::floor(app.view.to_image_y(cy));
    return p;
}

bool inside_image(const annotator &app, const click_point &p) {
    return p.x >= 0 && p.y >= 0 && p.x < app.image.width && p.y < app.image.height;
}

double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }

void handle_canvas_input(annotator &app) {
    ImGuiIO &io = ImGui::GetIO();
    ImVec2 m = io.MousePos;
    bool over_canvas = app.area.contains(m.x, m.y) && !io.WantCaptureMouse;
    bool space = ImGui::IsKeyDown(GLFW_KEY_SPACE);

    // pan: middle drag, or space + left drag
    if (over_canvas && (ImGui::IsMouseClicked(ImGuiMouseButton_Middle) ||
                        (space && ImGui::IsMouseClicked(ImGuiMouseButton_Left)))) {
        app.panning = true;
        app.pan_last_x = m.x;
        app.pan_last_y = m.y;
    }
    if (app.panning) {
        app.view.offset_x += m.x - app.pan_last_x;
        app.view.offset_y += m.y - app.pan_last_y;
        app.pan_last_x = m.x;
        app.pan_last_y = m.y;
        if (!ImGui::IsMouseDown(ImGuiMouseButton_Middle) && !ImGui::IsMouseDown(ImGuiMouseButton_Left))
            app.panning = false;
        return;
    }
    if (over_canvas && io.MouseWheel != 0)
        view_zoom_at(app.view, std::pow(1.15, (double)io.MouseWheel), m.x, m.y);
    if (!app.image_ready) return;

    click_point here = image_pixel_at(app, m.x, m.y);
    bool prompt_ready = app.embedding_ready;

    // an existing point under the cursor (within 8 canvas pixels) is dragged or removed
    int near_point = -1;
    double near_d2 = 64;
    for (size_t i = 0; i < app.points.size(); ++i) {
        double dx = app.view.to_canvas_x(app.points[i].x + 0.5) - m.x, dy = app.view.to_canvas_y(app.points[i].y + 0.5) - m.y;
        if (dx * dx + dy * dy <= near_d2) {
            near_d2 = dx * dx + dy * dy;
            near_point = (int)i;
        }
    }
    // press and release positions as the events had them (not where the mouse is by this frame)
    const click_point pressed_left = image_pixel_at(app, io.MouseClickedPos[0].x, io.MouseClickedPos[0].y);
    const click_point pressed_right = image_pixel_at(app, io.MouseClickedPos[1].x, io.MouseClickedPos[1].y);
    const click_point released_left = image_pixel_at(app, app.release_x[0], app.release_y[0]);
    if (app.dragging_point >= 0) {
        if (ImGui::IsMouseReleased(ImGuiMouseButton_Left)) here = released_left;
        if (inside_image(app, here)) {
            app.points[app.dragging_point].x = here.x;
            app.points[app.dragging_point].y = here.y;
        }
        if (ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
            app.dragging_point = -1;
            if (prompt_ready) request_prompt(app);
        }
        return;
    }
    if (over_canvas && near_point >= 0 && ImGui::IsMouseClicked(ImGuiMouseButton_Left) && !io.KeyAlt) {
        app.dragging_point = near_point;
        return;
    }
    if (over_canvas && near_point >= 0 && ImGui::IsMouseClicked(ImGuiMouseButton_Right)) {
        app.points.erase(app.points.begin() + near_point);
        request_prompt(app);
        return;
    }

    // left button: click = point (Alt: negative), drag = box
    if (over_canvas && ImGui::IsMouseClicked(ImGuiMouseButton_Left) && inside_image(app, pressed_left)) {
        app.dragging_box = true;
        app.drag_x0 = pressed_left.x;
        app.drag_y0 = pressed_left.y;
    }
    if (app.dragging_box && ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
        app.dragging_box = false;
        double x1 = clampd(released_left.x, 0, app.image.width - 1), y1 = clampd(released_left.y, 0, app.image.height - 1);
        bool dragged = std::fabs(x1 - app.drag_x0) * app.view.scale > 4 ||
                       std::fabs(y1 - app.drag_y0) * app.view.scale > 4;
        if (dragged) {
            app.has_box = true;
            app.box[0] = std::min(app.drag_x0, x1);
            app.box[1] = std::min(app.drag_y0, y1);
            app.box[2] = std::max(app.drag_x0, x1);
            app.box[3] = std::max(app.drag_y0, y1);
            if (prompt_ready) request_prompt(app);
        } else if (app.tool == tool_kind::proposal) {
            select_proposal_at(app, app.drag_x0, app.drag_y0);
        } else if (app.tool == tool_kind::point) {
            click_point p{app.drag_x0, app.drag_y0, io.KeyAlt ? 0 : 1};
            app.points.push_back(p);
            if (prompt_ready) request_prompt(app);
        }
    }
    if (over_canvas && ImGui::IsMouseClicked(ImGuiMouseButton_Right) && inside_image(app, pressed_right)) {
        click_point p = pressed_right;
        p.label = 0;
        app.points.push_back(p);
        if (prompt_ready) request_prompt(app);
    }

    // hover preview: only before any prompt, only when the pixel changes
    if (prompt_empty(app) && app.tool == tool_kind::point && !app.dragging_box && over_canvas &&
        inside_image(app, here) && (here.x != app.hover_x || here.y != app.hover_y)) {
        if (prompt_ready && app.dec && app.dec->status() == decoder_status::ready) {
            app.hover_x = here.x;
            app.hover_y = here.y;
            send_request(app, request_kind::hover, {here}, false, nullptr);
        }
    }
}

void handle_keys(annotator &app) {
    std::vector<annotator::key_press> keys;
    keys.swap(app.pressed_keys);
    if (ImGui::GetIO().WantTextInput) return;
    for (const annotator::key_press &k : keys) {
        const bool ctrl = k.mods & (GLFW_MOD_CONTROL | GLFW_MOD_SUPER), shift = k.mods & GLFW_MOD_SHIFT,
                   alt = k.mods & GLFW_MOD_ALT;
        if (ctrl) {
            if (k.key == GLFW_KEY_Z && shift) annotator_redo(app);
            else if (k.key == GLFW_KEY_Z) annotator_undo(app);
            else if (k.key == GLFW_KEY_Y) annotator_redo(app);
            continue;
        }
        if (shift && k.key >= GLFW_KEY_1 && k.key <= GLFW_KEY_9) {  // category by number
            size_t n = (size_t)(k.key - GLFW_KEY_1);
            if (n < app.doc.categories().size()) app.current_category = app.doc.categories()[n].id;
            continue;
        }
        switch (k.key) {
            case GLFW_KEY_F: app.fit_pending = true; break;
            case GLFW_KEY_B: app.tool = tool_kind::box; break;
            case GLFW_KEY_P: app.tool = tool_kind::point; break;
            case GLFW_KEY_E: app.tool = tool_kind::proposal; break;
            case GLFW_KEY_C: app.doc.confirm_annotation(app.selected_annotation); break;
            case GLFW_KEY_H:
                if (const annotation *a = app.doc.find_annotation(app.selected_annotation))
                    app.doc.set_annotation_hidden(a->id, !a->hidden);
                break;
            case GLFW_KEY_ESCAPE:
                if (prompt_empty(app)) app.selected_annotation = 0;
                annotator_clear_prompt(app);
                break;
            case GLFW_KEY_ENTER:
            case GLFW_KEY_KP_ENTER:
                if (app.tool == tool_kind::proposal && !shift && !alt && prompt_empty(app))
                    annotator_accept_proposal(app, app.selected_proposal);
                else
                    annotator_accept(app, shift ? accept_merge::add : alt ? accept_merge::subtract : accept_merge::none);
                break;
            case GLFW_KEY_DELETE:
            case GLFW_KEY_BACKSPACE: annotator_delete_selected(app); break;
            case GLFW_KEY_F1: app.show_help = !app.show_help; break;
            case GLFW_KEY_SLASH:
                if (shift) app.show_help = !app.show_help;  // '?'
                break;
            case GLFW_KEY_1:
            case GLFW_KEY_2:
            case GLFW_KEY_3: annotator_select_candidate(app, k.key - GLFW_KEY_0); break;
            case GLFW_KEY_RIGHT:
            case GLFW_KEY_PAGE_DOWN: annotator_open_image(app, app.current + 1); break;
            case GLFW_KEY_LEFT:
            case GLFW_KEY_PAGE_UP: annotator_open_image(app, app.current - 1); break;
            default: break;
        }
    }
}

void draw_prompt(const annotator &app) {
    ImDrawList *dl = ImGui::GetBackgroundDrawList();
    dl->PushClipRect(ImVec2(app.area.x, app.area.y), ImVec2(app.area.x + app.area.w, app.area.y + app.area.h));
    auto to_canvas = [&](double x, double y) {
        // a point sits at its pixel's centre
        return ImVec2((float)app.view.to_canvas_x(x + 0.5), (float)app.view.to_canvas_y(y + 0.5));
    };
    if (app.has_box || app.dragging_box) {
        ImVec2 a, b;
        if (app.dragging_box) {
            ImVec2 m = ImGui::GetIO().MousePos;
            a = to_canvas(app.drag_x0, app.drag_y0);
            b = m;
        } else {
            a = to_canvas(app.box[0], app.box[1]);
            b = to_canvas(app.box[2], app.box[3]);
        }
        dl->AddRect(a, b, IM_COL32(255, 210, 0, 255), 0, 0, 2.0f);
    }
    for (const click_point &p : app.points) {
        ImVec2 c = to_canvas(p.x, p.y);
        ImU32 col = p.label == 1 ? IM_COL32(40, 220, 90, 255) : IM_COL32(235, 60, 60, 255);
        dl->AddCircleFilled(c, 6, col);
        dl->AddCircle(c, 6, IM_COL32(255, 255, 255, 255), 0, 1.5f);
    }
    dl->PopClipRect();
}

}  // namespace

void annotator_frame(annotator &app, int fb_w, int fb_h) {
    float w = (float)fb_w, h = (float)fb_h;
    float left_w = std::min(220.0f, w * 0.25f), right_w = std::min(240.0f, w * 0.25f);
    app.area = canvas_rect{left_w, 0, std::max(1.0f, w - left_w - right_w), std::max(1.0f, h - kStatusBarH)};

    app.ui_rects.clear();
    app.text_input_active = ImGui::GetIO().WantTextInput;
    poll_decoder(app);
    if (app.dec && app.dec->status() == decoder_status::failed && !app.decoder_error_reported) {
        app.decoder_error_reported = true;
        add_error(app, "decoder: " + app.dec->error());
    }
    if (app.fit_pending && app.image_ready) {
        app.view = view_fit(app.image.width, app.image.height, app.area);
        app.fit_pending = false;
    }
    handle_keys(app);
    handle_canvas_input(app);
    if (app.tool == tool_kind::proposal && app.has_result && app.result_kind == request_kind::hover) {
        app.has_result = false;  // no hover preview over the proposals
        app.selected_output = -1;
        show_selected_logits(app);
    }
    tick_detector(app);
    tick_everything(app);
    update_proposal_taken(app);
    update_overlay(app);
    update_prompt_colour(app);
    tick_persistence(app);

    canvas_renderer_render(app.renderer, app.view, app.area, fb_w, fb_h);
    draw_proposals(app);
    draw_prompt(app);
    panel_images(app, 0, 0, left_w, h - kStatusBarH);
    panel_candidates(app, w - right_w, 0, right_w, h - kStatusBarH);
    status_bar(app, w, h);
    open_files_screen(app);
    help_window(app, w, h);
    server_conflict_window(app, w);
    errors_window(app);
}

std::string annotator_state_json(const annotator &app, int frames_drawn) {
    using json = nlohmann::json;
    json s;
    s["ready"] = app.ui_ready();
    if (app.current >= 0 && app.current < (int)app.dataset.images.size()) {
        const manifest_image &im = app.dataset.images[app.current];
        s["image"] = {{"id", im.id}, {"index", app.current}, {"file", im.file}, {"width", app.image.width},
                      {"height", app.image.height}, {"loaded", app.image_ready},
                      {"embedding_loaded", app.embedding_ready},
                      {"texture_width", app.renderer.texture_w}, {"texture_height", app.renderer.texture_h}};
    } else {
        s["image"] = nullptr;
    }
    s["image_count"] = app.dataset.images.size();
    s["view"] = {{"scale", app.view.scale}, {"offset_x", app.view.offset_x}, {"offset_y", app.view.offset_y}};
    s["canvas"] = {{"x", app.area.x}, {"y", app.area.y}, {"w", app.area.w}, {"h", app.area.h}};
    s["tool"] = app.tool == tool_kind::point ? "point" : app.tool == tool_kind::box ? "box" : "proposal";
    json pts = json::array();
    for (const click_point &p : app.points) pts.push_back({{"x", p.x}, {"y", p.y}, {"label", p.label}});
    s["points"] = pts;
    s["box"] = app.has_box ? json::array({app.box[0], app.box[1], app.box[2], app.box[3]}) : json(nullptr);
    json cands = json::array();
    int selected_candidate = 0;
    if (app.has_result) {
        const decoder_result &r = app.result;
        int first = r.mask_count == 4 ? 1 : 0;
        for (int i = first; i < r.mask_count; ++i)
            cands.push_back({{"number", i - first + 1}, {"output", i}, {"iou", r.iou_predictions[i]}});
        if (app.selected_output >= first) selected_candidate = app.selected_output - first + 1;
        s["single_iou"] = r.mask_count == 4 ? json(r.iou_predictions[0]) : json(nullptr);
    }
    s["candidates"] = cands;
    s["selected_candidate"] = selected_candidate;  // 1..3, 0 = single-mask output or none
    s["selected_output"] = app.selected_output;
    s["result_kind"] = !app.has_result ? "none" : app.result_kind == request_kind::hover ? "hover" : "prompt";
    json anns = json::array();
    for (const annotation &a : app.doc.annotations())
        anns.push_back({{"id", a.id}, {"image_id", a.image_id}, {"category_id", a.category_id}, {"area", a.area},
                        {"bbox", {a.bbox.x, a.bbox.y, a.bbox.w, a.bbox.h}}, {"score", a.score}, {"hidden", a.hidden},
                        {"source", annotation_source_name(a.source)},
                        {"points", a.prompts.points.size()}, {"has_box", a.prompts.has_box}});
    s["annotations"] = anns;
    json cats = json::array();
    for (const doc_category &c : app.doc.categories())
        cats.push_back({{"id", c.id}, {"name", c.name}, {"color", {c.color.r, c.color.g, c.color.b}}});
    s["categories"] = cats;
    json props = json::array();
    for (size_t i = 0; i < app.proposals.proposals.size(); ++i) {
        const mask_proposal &p = app.proposals.proposals[i];
        props.push_back({{"index", i}, {"predicted_iou", p.predicted_iou}, {"stability_score", p.stability_score},
                         {"area", p.area}, {"bbox", {p.bbox.x, p.bbox.y, p.bbox.w, p.bbox.h}},
                         {"taken", i < app.proposal_taken.size() && app.proposal_taken[i]}});
    }
    s["proposals"] = {{"url", app.proposals_url}, {"status", app.proposals_status}, {"list", props},
                      {"selected", app.selected_proposal}, {"min_iou", app.proposal_min_iou},
                      {"shown", app.show_proposals}};
    s["everything"] = {{"active", everything_active(app)}, {"sent", app.everything_next},
                       {"total", app.everything_total}, {"points_per_side", app.everything_points_per_side},
                       {"pred_iou_thresh", app.everything_pred_iou_thresh},
                       {"stability_score_thresh", app.everything_stability_thresh}};
    s["detector"] = {{"file", app.detector_file}, {"active", detector_active(app)},
                     {"total", app.detector_jobs.size()}, {"sent", app.detector_next},
                     {"done", app.detector_done.size()}, {"empty", app.detector_empty},
                     {"classes_file", app.yolo_classes_file}, {"classes", app.yolo_classes}};
    s["current_category"] = app.current_category;
    s["selected_annotation"] = app.selected_annotation;
    s["revision"] = app.doc.revision();
    s["redo_depth"] = app.doc.redo_depth();
    s["restored"] = app.restore_done;
    s["autosave_count"] = app.autosave_count;
    s["autosaved_revision"] = app.autosaved_revision;
    s["notices"] = app.notices;
    s["help_visible"] = app.show_help;
    s["text_input_active"] = app.text_input_active;
    if (frames_drawn >= 0) s["frames_drawn"] = frames_drawn;
    json ui = json::object();
    for (const auto &kv : app.ui_rects) ui[kv.first] = {kv.second[0], kv.second[1], kv.second[2], kv.second[3]};
    s["ui"] = ui;
    s["server"] = {{"dataset", app.server_dataset}, {"version", app.server_version},
                   {"saved_revision", app.server_saved_revision}, {"saving", app.server_saving},
                   {"conflict", app.server_conflict}, {"error", app.server_error}};
    s["last_decode_ms"] = app.last_decode_ms;
    s["last_round_trip_ms"] = app.last_round_trip_ms;
    s["decode_count"] = app.decode_count;
    s["last_mask_frame"] = {{"request_id", app.last_mask_frame.request_id},
                            {"input_ms", app.last_mask_frame.input_ms},
                            {"result_ms", app.last_mask_frame.result_ms},
                            {"frame_ms", app.last_mask_frame.frame_ms}};
    s["undo_depth"] = app.doc.undo_depth();
    const char *ds = "none";
    if (app.dec) switch (app.dec->status()) {
            case decoder_status::idle: ds = "idle"; break;
            case decoder_status::loading: ds = "loading"; break;
            case decoder_status::ready: ds = "ready"; break;
            case decoder_status::failed: ds = "failed"; break;
        }
    s["requests"] = {{"sent", app.requests_sent}, {"last_id", app.last_request_id},
                     {"last_has_mask_input", app.last_request_has_mask_input},
                     {"shown_id", app.result_request_id}};
    s["decoder"] = {{"status", ds}, {"busy", app.dec ? app.dec->busy() : false},
                    {"description", app.dec ? app.dec->description() : ""},
                    {"error", app.dec ? app.dec->error() : ""}};
    json errors = app.errors;
    for (const std::string &e : app.image_errors) errors.push_back(e);
    s["errors"] = errors;
    s["max_texture_size"] = app.renderer.max_texture_size;
    return s.dump();
}

}  // namespace sam
