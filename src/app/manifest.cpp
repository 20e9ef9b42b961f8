#include "app/manifest.h"

#include <nlohmann/json.hpp>

namespace sam {

namespace {

using json = nlohmann::json;

bool get_string(const json &o, const char *key, std::string &out) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
}

bool get_int(const json &o, const char *key, int &out) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_number_integer()) return false;
    long long v = it->get<long long>();
    if (v < -2147483647LL || v > 2147483647LL) return false;
    out = (int)v;
    return true;
}

bool get_bool(const json &o, const char *key, bool &out) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_boolean()) return false;
    out = it->get<bool>();
    return true;
}

// "encoder" and "browser_encoder" of a model object (manifest.json's "model" or model.json).
status parse_browser_encoder(const json &model, const std::string &where, manifest &out) {
    auto enc = model.find("encoder");
    if (enc != model.end() && (!enc->is_string() || enc->get<std::string>().empty()))
        return status::failure(where + ".encoder must be a file name");
    if (enc != model.end()) out.encoder = enc->get<std::string>();
    auto browser = model.find("browser_encoder");
    if (browser != model.end() && !get_bool(model, "browser_encoder", out.browser_encoder))
        return status::failure(where + ".browser_encoder must be true or false");
    return status::success();
}

// The model spec and each image's feature files, as the core reads them (version 1 or 2).
status parse_model(const std::string &text, const std::string &name, manifest &out) {
    manifest_model mm;
    status st = manifest_model_parse(text, name, mm);
    if (!st) return st;
    out.version = mm.version;
    out.spec = mm.spec;
    for (size_t i = 0; i < out.images.size() && i < mm.images.size(); ++i) {
        manifest_image &im = out.images[i];
        im.features = mm.images[i].feature_files;
        if (im.embedding.empty() && !im.features.empty()) im.embedding = im.features[0];
    }
    return status::success();
}

}  // namespace

status model_json_parse(const std::string &text, const std::string &name, manifest &out) {
    out = manifest{};
    out.version = 1;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return status::failure(name + ": not a JSON object");
    get_string(j, "id", out.model_id);
    get_string(j, "encoder_sha256", out.encoder_sha256);
    get_string(j, "decoder", out.decoder);
    get_string(j, "decoder_weights", out.decoder_weights);
    return parse_browser_encoder(j, name, out);
}

status manifest_parse(const std::string &text, const std::string &name, manifest &out) {
    out = manifest{};
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return status::failure(name + ": not a JSON object");
    if (!get_int(j, "version", out.version)) return status::failure(name + ": missing integer \"version\"");
    if (out.version != 1 && out.version != 2)
        return status::failure(name + ": version " + std::to_string(out.version) + " not supported (expected 1 or 2)");
    auto model = j.find("model");
    if (model == j.end() || !model->is_object()) return status::failure(name + ": missing object \"model\"");
    get_string(*model, "id", out.model_id);
    get_string(*model, "encoder_sha256", out.encoder_sha256);
    if (!get_string(*model, "decoder", out.decoder) || out.decoder.empty())
        return status::failure(name + ": missing string \"model.decoder\"");
    // optional; written beside the ONNX files (top level or in "model")
    if (!get_string(*model, "decoder_weights", out.decoder_weights)) get_string(j, "decoder_weights", out.decoder_weights);
    status es = parse_browser_encoder(*model, name + ": model", out);
    if (!es) return es;
    auto images = j.find("images");
    if (images == j.end() || !images->is_array()) return status::failure(name + ": missing array \"images\"");
    for (size_t i = 0; i < images->size(); ++i) {
        const json &e = (*images)[i];
        std::string where = name + ": images[" + std::to_string(i) + "]";
        if (!e.is_object()) return status::failure(where + " is not an object");
        manifest_image im;
        if (!get_int(e, "id", im.id) || im.id <= 0) return status::failure(where + ".id must be a positive integer");
        if (!get_string(e, "file", im.file) || im.file.empty()) return status::failure(where + ".file missing");
        if (!get_int(e, "width", im.width) || im.width <= 0) return status::failure(where + ".width must be > 0");
        if (!get_int(e, "height", im.height) || im.height <= 0)
            return status::failure(where + ".height must be > 0");
        // version 2 names its files under "features" (checked in parse_model)
        if (!get_string(e, "embedding", im.embedding) && !e.contains("features") && out.encoder.empty())
            return status::failure(where + ".embedding missing (and model.encoder names no encoder to compute it in the browser)");
        if (e.contains("embedding") && im.embedding.empty()) return status::failure(where + ".embedding must be a file name");
        get_string(e, "sha256", im.sha256);
        if (!get_string(e, "embedding_dtype", im.embedding_dtype)) im.embedding_dtype = "float32";
        if (im.embedding_dtype != "float32" && im.embedding_dtype != "float16")
            return status::failure(where + ".embedding_dtype \"" + im.embedding_dtype +
                                   "\" not supported (expected float32 or float16)");
        out.images.push_back(std::move(im));
    }
    return parse_model(text, name, out);
}

std::string url_resolve(const std::string &base_url, const std::string &relative) {
    if (relative.empty()) return base_url;
    if (relative[0] == '/' || relative.find("://") != std::string::npos || relative.rfind("data:", 0) == 0 ||
        relative.rfind("blob:", 0) == 0)
        return relative;
    std::string base = base_url;
    size_t cut = base.find_first_of("?#");
    if (cut != std::string::npos) base.resize(cut);
    size_t slash = base.rfind('/');
    return slash == std::string::npos ? relative : base.substr(0, slash + 1) + relative;
}

}  // namespace sam
