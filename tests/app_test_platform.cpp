#include "app_test_platform.h"

#include <cmath>
#include <deque>
#include <set>
#include <nlohmann/json.hpp>

#include "app/cpp_decoder.h"
#include "core/image_decode.h"
#include "core/model_spec.h"
#include "core/npy.h"

namespace sam {

namespace {

using json = nlohmann::json;

struct host {
    std::map<std::string, std::vector<uint8_t>> files;
    test::http_handler http;
    std::vector<http_request> http_log;
    std::map<std::string, store_unit> store;
    std::map<std::string, std::pair<std::string, double>> single;
    size_t store_bytes = 0;
    double now = 1000;
    std::deque<std::function<void()>> queue;
    std::vector<std::unique_ptr<native_decoder_backend> *> unused;
    std::vector<native_decoder_backend *> backends;
    std::vector<std::string> workers;
    std::map<std::string, std::string> failing;
    std::set<std::string> cpp_workers;  // these workers run the core's C++ decoder in-process
    bool last_input_set = false;
    double last_input = 0;
    std::vector<test::host_download> downloads;
    test::host_encoder_state encoder;
};

host &h() {
    static host x;
    return x;
}

void later(std::function<void()> f) { h().queue.push_back(std::move(f)); }

}  // namespace

// ---- platform.h --------------------------------------------------------------------

void platform_fetch(const std::string &url, fetch_callback done) {
    auto it = h().files.find(url);
    if (it == h().files.end()) {
        later([url, done] { done(status::failure(url + ": HTTP 404 Not Found"), {}); });
        return;
    }
    std::vector<uint8_t> bytes = it->second;
    later([done, bytes]() mutable { done(status::success(), std::move(bytes)); });
}

void platform_http(const http_request &r, http_callback done) {
    h().http_log.push_back(r);
    int code = 404;
    std::string body = "{\"error\":\"not found\"}";
    auto f = h().files.find(r.url);
    if (h().http) h().http(r, code, body);
    if (code == 404 && r.method == "GET" && f != h().files.end()) {
        code = 200;
        body.assign(f->second.begin(), f->second.end());
    }
    later([done, code, body] { done(code, body, ""); });
}

std::string platform_absolute_url(const std::string &url) {
    if (url.find("://") != std::string::npos) return url;
    return "http://127.0.0.1:8000" + std::string(url.empty() || url[0] != '/' ? "/" : "") + url;
}

void platform_open_files() {}
void platform_download(const std::string &name, const std::string &text, const std::string &mime) {
    h().downloads.push_back(test::host_download{name, mime, std::vector<uint8_t>(text.begin(), text.end())});
}
void platform_download_bytes(const std::string &name, const std::vector<uint8_t> &bytes, const std::string &mime) {
    h().downloads.push_back(test::host_download{name, mime, bytes});
}

void platform_store_list(const std::string &prefix, std::function<void(std::vector<store_unit>)> done) {
    std::vector<store_unit> out;
    for (const auto &kv : h().store)
        if (kv.first.compare(0, prefix.size(), prefix) == 0) out.push_back(kv.second);
    later([done, out]() mutable { done(std::move(out)); });
}

void platform_store_write(std::vector<store_unit> units, std::function<void(bool)> done) {
    for (store_unit &u : units) {
        h().store_bytes += u.key.size() + u.text.size();
        h().store[u.key] = u;
    }
    later([done] { done(true); });
}

void platform_store_read_single(const std::string &key, std::function<void(bool, std::string, double)> done) {
    auto it = h().single.find(key);
    const bool found = it != h().single.end();
    const std::string text = found ? it->second.first : "";
    const double number = found ? it->second.second : 0;
    later([done, found, text, number] { done(found, text, number); });
}

double platform_now_ms() { return h().now; }
double platform_last_input_ms() { return h().last_input_set ? h().last_input : h().now; }
void platform_wake_after(double) {}

std::unique_ptr<decoder_backend> platform_make_worker_backend(const std::string &worker, decoder_events &events) {
    h().workers.push_back(worker);
    auto b = h().cpp_workers.count(worker)
                 ? std::make_unique<native_decoder_backend>(events, make_cpp_decoder(), "C++ native " + worker)
                 : std::make_unique<native_decoder_backend>(events, test::disc_decode, "native disc " + worker);
    auto f = h().failing.find(worker);
    if (f != h().failing.end()) b->fail_load = f->second;
    h().backends.push_back(b.get());
    return b;
}

namespace {

class fake_encoder final : public encoder_backend {
public:
    explicit fake_encoder(encoder_events &events) : events_(events) {}
    void load(const std::string &url, const std::string &model_key, bool warm_up) override {
        h().encoder.loads++;
        h().encoder.warm_ups += warm_up ? 1 : 0;
        h().encoder.model_key = model_key;
        const bool ok = h().files.count(url) > 0;
        encoder_events *ev = &events_;
        later([ev, ok, url] { ev->on_encoder_loaded(ok, ok ? "backend=fake;threads=1" : url + ": HTTP 404 Not Found"); });
    }
    void encode(uint64_t id, std::vector<uint8_t> bytes, const std::string &name) override {
        test::host_encoder_state &s = h().encoder;
        s.encodes++;
        s.names.push_back(name);
        encoder_result r;
        r.id = id;
        image_u8 img;
        status st = decode_image(bytes.data(), bytes.size(), name, img);
        if (!st) {
            r.error = st.message;
        } else {
            r.ok = true;
            r.width = img.width;
            r.height = img.height;
            uint64_t hash = 1469598103934665603ull;  // FNV-1a stands in for SHA-256
            for (uint8_t b : bytes) hash = (hash ^ b) * 1099511628211ull;
            r.sha256 = std::to_string(hash);
            const std::string key = s.model_key + "|" + r.sha256;
            r.cached = !s.cache_fails && s.cache.count(key);
            if (!r.cached) s.computed++;
            r.embedding.assign(k_decoder_embedding_count, test::fake_embedding_value(bytes));
            r.prep_ms = 1;
            r.encode_ms = r.cached ? 0 : 10;
            if (s.cache_fails) r.cache_error = "embedding not cached (QuotaExceededError: the quota has been exceeded)";
            else s.cache[key]++;
        }
        encoder_events *ev = &events_;
        later([ev, r]() mutable { ev->on_encoded(std::move(r)); });
    }

private:
    encoder_events &events_;
};

}  // namespace

std::unique_ptr<encoder_backend> platform_make_encoder_backend(encoder_events &events) {
    return std::make_unique<fake_encoder>(events);
}

// ---- the test host -------------------------------------------------------------------

namespace test {

void host_reset() {
    h().files.clear();
    h().http = nullptr;
    h().http_log.clear();
    h().store.clear();
    h().single.clear();
    h().store_bytes = 0;
    h().now = 1000;
    h().queue.clear();
    h().backends.clear();
    h().workers.clear();
    h().failing.clear();
    h().cpp_workers.clear();
    h().last_input_set = false;
    h().downloads.clear();
    h().encoder = test::host_encoder_state{};
}

void host_set_last_input(double ms) {
    h().last_input_set = true;
    h().last_input = ms;
}
std::vector<host_download> &host_downloads() { return h().downloads; }
host_encoder_state &host_encoder() { return h().encoder; }
float fake_embedding_value(const std::vector<uint8_t> &bytes) {
    unsigned sum = 0;
    for (uint8_t b : bytes) sum += b;
    return (float)(sum % 1000) / 1000.0f;
}

void host_add_file(const std::string &url, std::vector<uint8_t> bytes) { h().files[url] = std::move(bytes); }
void host_add_text(const std::string &url, const std::string &text) {
    h().files[url] = std::vector<uint8_t>(text.begin(), text.end());
}
void host_set_http(http_handler handler) { h().http = std::move(handler); }
const std::vector<http_request> &host_http_log() { return h().http_log; }
std::map<std::string, store_unit> &host_store() { return h().store; }
std::map<std::string, std::pair<std::string, double>> &host_single_store() { return h().single; }
size_t host_store_bytes_written() { return h().store_bytes; }
void host_set_now(double ms) { h().now = ms; }
std::vector<native_decoder_backend *> &host_backends() { return h().backends; }
const std::vector<std::string> &host_workers() { return h().workers; }
void host_fail_worker(const std::string &worker, const std::string &message) { h().failing[worker] = message; }
void host_use_cpp_decoder(const std::string &worker) { h().cpp_workers.insert(worker); }

void host_clear_queue() { h().queue.clear(); }

size_t host_run() {
    size_t n = 0;
    for (int round = 0; round < 10000; ++round) {
        bool any = false;
        while (!h().queue.empty()) {
            std::function<void()> f = std::move(h().queue.front());
            h().queue.pop_front();
            f();
            ++n;
            any = true;
        }
        for (native_decoder_backend *b : h().backends)
            if (b->run_all()) any = true;
        if (!any) break;
    }
    return n;
}

status disc_decode(const std::vector<float> &, const decoder_request &r, decoder_result &out) {
    static const float ious[4] = {0.50f, 0.60f, 0.95f, 0.70f};
    if (r.point_coords.size() < 2) return status::failure("no points");
    const float px = r.point_coords[0], py = r.point_coords[1];
    out.mask_count = 4;
    out.iou_predictions.assign(ious, ious + 4);
    out.low_res_masks.resize(4 * k_low_res_count);
    for (int k = 0; k < 4; ++k)
        for (int v = 0; v < 256; ++v)
            for (int u = 0; u < 256; ++u) {
                const float dx = 4.0f * u + 2 - px, dy = 4.0f * v + 2 - py;
                out.low_res_masks[(size_t)k * k_low_res_count + (size_t)v * 256 + u] =
                    k_disc_radii[k] - std::sqrt(dx * dx + dy * dy);
            }
    out.decode_ms = 1;
    return status::success();
}

std::vector<uint8_t> embedding_npy(float value) {
    npy_array a;
    a.dtype = npy_dtype::f32;
    a.shape = {1, 256, 64, 64};
    a.data.resize(256 * 64 * 64 * 4);
    for (size_t i = 0; i < 256 * 64 * 64; ++i) std::memcpy(&a.data[i * 4], &value, 4);
    return npy_serialize(a);
}

std::vector<uint8_t> bmp_image(int w, int h_) {
    const int row = (w * 3 + 3) & ~3;
    const uint32_t size = 54 + (uint32_t)row * h_;
    std::vector<uint8_t> b(size, 0);
    auto put32 = [&](size_t at, uint32_t v) {
        for (int i = 0; i < 4; ++i) b[at + i] = (uint8_t)(v >> (8 * i));
    };
    b[0] = 'B';
    b[1] = 'M';
    put32(2, size);
    put32(10, 54);
    put32(14, 40);
    put32(18, (uint32_t)w);
    put32(22, (uint32_t)h_);
    b[26] = 1;
    b[28] = 24;
    put32(34, (uint32_t)row * h_);
    for (int y = 0; y < h_; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) b[54 + (size_t)y * row + x * 3 + c] = (uint8_t)((x + y) & 255);
    return b;
}

void host_add_dataset(const std::string &name, int n, int w, int h_, const std::string &extra_model_json) {
    const std::string base = "http://127.0.0.1:8000/datasets/" + name + "/";
    json m;
    m["version"] = 1;
    m["model"] = json::parse("{\"id\": \"test\", \"decoder\": \"decoder.onnx\"" + extra_model_json + "}");
    json images = json::array();
    const std::vector<uint8_t> picture = bmp_image(w, h_), emb = embedding_npy();
    for (int i = 0; i < n; ++i) {
        const std::string stem = "img" + std::to_string(i);
        images.push_back({{"id", i + 1}, {"file", "images/" + stem + ".bmp"}, {"width", w}, {"height", h_},
                          {"embedding", "embeddings/" + stem + ".npy"}});
        if (i < 3) {  // the tests open the first images only
            host_add_file(base + "images/" + stem + ".bmp", picture);
            host_add_file(base + "embeddings/" + stem + ".npy", emb);
        }
    }
    m["images"] = images;
    host_add_text(base + "manifest.json", m.dump());
}

void host_add_sam2_dataset(const std::string &name, int n, int w, int h_, const std::string &extra_model_json) {
    const std::string base = "http://127.0.0.1:8000/datasets/" + name + "/";
    const model_spec spec = sam2_1_model_spec();
    json m;
    m["version"] = 2;
    m["model"] = json::parse("{\"id\": \"test-sam2\", \"decoder\": \"decoder.onnx\"" + extra_model_json + "}");
    m["model"]["spec"] = json::parse(model_spec_json(spec));
    json images = json::array();
    const std::vector<uint8_t> picture = bmp_image(w, h_);
    for (int i = 0; i < n; ++i) {
        const std::string stem = "img" + std::to_string(i);
        json features = json::object();
        for (const feature_tensor &f : spec.features) {
            const std::string file = "embeddings/" + f.name + "/" + stem + ".npy";
            features[f.name] = file;
            if (i < 2) {
                npy_array a;
                a.dtype = npy_dtype::f16;
                a.shape = f.shape;
                size_t count = 1;
                for (int64_t d : f.shape) count *= (size_t)d;
                a.data.assign(count * 2, 0);  // float16 zeros
                host_add_file(base + file, npy_serialize(a));
            }
        }
        images.push_back({{"id", i + 1}, {"file", "images/" + stem + ".bmp"}, {"width", w}, {"height", h_},
                          {"embedding", features[spec.features[0].name]}, {"embedding_dtype", "float16"},
                          {"features", features}});
        if (i < 2) host_add_file(base + "images/" + stem + ".bmp", picture);
    }
    m["images"] = images;
    host_add_text(base + "manifest.json", m.dump());
}

// ---- the annotations API in memory --------------------------------------------------

namespace {

std::string decode_component(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += (char)std::stoi(s.substr(i + 1, 2), nullptr, 16);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

double if_match(const http_request &r) {
    std::string v = r.if_match;
    v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
    return v.empty() ? -1 : std::stod(v);
}

}  // namespace

void annotations_api_double::handle(const http_request &r, int &status, std::string &body) {
    const std::string api = "http://127.0.0.1:8000/api/annotations/" + dataset;
    if (r.url.compare(0, api.size(), api) != 0) return;
    const std::string rest = r.url.substr(api.size());
    auto unit_version = [&](const std::string &u) { return units.count(u) ? units[u].first : 0.0; };
    if (rest.empty() && r.method == "GET") {
        json doc;
        doc["images"] = json::array();
        doc["annotations"] = json::array();
        for (const auto &im : images) {
            doc["images"].push_back({{"id", im.first}, {"file_name", im.second}});
            auto it = units.find("image:" + im.second);
            if (it == units.end()) continue;
            for (json a : json::parse(it->second.second)) {
                a["image_id"] = im.first;
                doc["annotations"].push_back(a);
            }
        }
        doc["categories"] = units.count("categories") ? json::parse(units["categories"].second) : json::array();
        doc["version"] = store_version;
        status = 200;
        body = doc.dump();
        return;
    }
    if (rest.empty() && r.method == "PUT") {
        puts++;
        put_bytes += r.body.size();
        if (if_match(r) != store_version) {
            conflicts++;
            status = 409;
            body = json{{"error", "stale"}, {"version", store_version}}.dump();
            return;
        }
        json j = json::parse(r.body);
        json coco = j.contains("coco") ? j["coco"] : j;
        std::map<int64_t, std::string> names;
        for (const auto &im : images) names[im.first] = im.second;
        std::map<std::string, json> per;
        for (const json &a : coco["annotations"]) per["image:" + names[a["image_id"].get<int64_t>()]].push_back(a);
        for (const auto &im : images) {
            const std::string u = "image:" + im.second;
            units[u] = {unit_version(u) + 1, per.count(u) ? per[u].dump() : "[]"};
        }
        units["categories"] = {unit_version("categories") + 1, coco["categories"].dump()};
        store_version++;
        status = 200;
        body = json{{"version", store_version}}.dump();
        return;
    }
    if (whole_only) return;  // 404: an older server
    if (rest == "/index" && r.method == "GET") {
        json idx;
        idx["version"] = store_version;
        idx["categories"] = {{"version", unit_version("categories")}};
        idx["images"] = json::array();
        for (const auto &kv : units)
            if (kv.first.compare(0, 6, "image:") == 0)
                idx["images"].push_back({{"file_name", kv.first.substr(6)}, {"version", kv.second.first},
                                         {"count", json::parse(kv.second.second).size()}});
        status = 200;
        body = idx.dump();
        return;
    }
    std::string unit;
    if (rest == "/categories") unit = "categories";
    else if (rest.compare(0, 8, "/images/") == 0) unit = "image:" + decode_component(rest.substr(8));
    if (unit.empty()) return;
    if (r.method == "GET") {
        status = 200;
        body = json{{"version", unit_version(unit)}, {unit == "categories" ? "categories" : "annotations",
                                                       json::parse(units.count(unit) ? units[unit].second : "[]")}}
                   .dump();
        return;
    }
    if (r.method != "PUT") return;
    puts++;
    put_bytes += r.body.size();
    if (r.if_match.empty()) {
        status = 428;
        body = "{\"error\":\"If-Match required\"}";
        return;
    }
    if (if_match(r) != unit_version(unit)) {
        conflicts++;
        status = 409;
        json cur = json::parse(units.count(unit) ? units[unit].second : "[]");
        body = json{{"error", "stale version"}, {"version", unit_version(unit)},
                    {unit == "categories" ? "categories" : "annotations", cur}}
                   .dump();
        return;
    }
    json j = json::parse(r.body);
    const json &content = unit == "categories" ? j["categories"] : j["annotations"];
    units[unit] = {unit_version(unit) + 1, content.dump()};
    store_version++;
    status = 200;
    body = json{{"version", units[unit].first}}.dump();
}

}  // namespace test
}  // namespace sam
