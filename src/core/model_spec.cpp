// model_spec.cpp - see model_spec.h.
#include "core/model_spec.h"

#include <cctype>

#include <nlohmann/json.hpp>

namespace sam {

namespace {

using json = nlohmann::json;
namespace tn = tensor_names;

std::string shape_text(const std::vector<int64_t> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string names_text(const std::vector<std::string> &names) {
    std::string s = "[";
    for (size_t i = 0; i < names.size(); i++) s += (i ? ", " : "") + names[i];
    return s + "]";
}

// A path relative to the dataset folder that cannot leave it: no "..", not
// absolute, no URL scheme ("http:", "data:"; colons elsewhere are file names).
bool inside_dataset(const std::string &p) {
    if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos) return false;
    size_t scheme = 0;
    while (scheme < p.size() && (std::isalnum((unsigned char)p[scheme]) || p[scheme] == '+' || p[scheme] == '.' ||
                                 p[scheme] == '-'))
        scheme++;
    if (scheme > 0 && scheme < p.size() && p[scheme] == ':' && std::isalpha((unsigned char)p[0])) return false;
    size_t start = 0;
    while (start <= p.size()) {
        size_t end = p.find('/', start);
        if (end == std::string::npos) end = p.size();
        const std::string seg = p.substr(start, end - start);
        if (seg == ".." || seg.empty()) return false;
        start = end + 1;
    }
    return true;
}

bool get_string_array(const json &j, std::vector<std::string> &out) {
    if (!j.is_array()) return false;
    out.clear();
    for (const json &e : j) {
        if (!e.is_string()) return false;
        out.push_back(e.get<std::string>());
    }
    return true;
}

// Checks model.spec against the one spec of its family this code runs.
status parse_spec(const json &j, const std::string &where, model_spec &out) {
    if (!j.is_object()) return status::failure(where + " must be an object");
    auto fam = j.find("family");
    if (fam == j.end() || !fam->is_string()) return status::failure(where + ".family missing (\"sam\" or \"sam2.1\")");
    const std::string family = fam->get<std::string>();
    if (family == model_family_name(model_family::sam1)) {
        out = sam1_model_spec();
    } else if (family == model_family_name(model_family::sam2_1)) {
        out = sam2_1_model_spec();
    } else {
        return status::failure(where + ".family \"" + family + "\" not supported (expected \"sam\" or \"sam2.1\")");
    }
    const std::string fam_msg = " for family " + family;

    auto pre = j.find("preprocess");
    const std::string want_pre = preprocess_kind_name(out.preprocess);
    if (pre == j.end() || !pre->is_string() || pre->get<std::string>() != want_pre)
        return status::failure(where + ".preprocess must be \"" + want_pre + "\"" + fam_msg);
    auto size = j.find("image_size");
    if (size != j.end() && (!size->is_number_integer() || size->get<int64_t>() != out.image_size))
        return status::failure(where + ".image_size must be " + std::to_string(out.image_size));

    auto feats = j.find("features");
    if (feats == j.end() || !feats->is_array())
        return status::failure(where + ".features missing (an array of {\"name\", \"shape\"})");
    if (feats->size() != out.features.size())
        return status::failure(where + ".features has " + std::to_string(feats->size()) + " tensors, expected " +
                               std::to_string(out.features.size()) + fam_msg);
    for (size_t k = 0; k < out.features.size(); k++) {
        const json &f = (*feats)[k];
        const feature_tensor &want = out.features[k];
        const std::string fw = where + ".features[" + std::to_string(k) + "]";
        const std::string expected = ", expected " + want.name + " " + shape_text(want.shape) + fam_msg;
        if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>() != want.name)
            return status::failure(fw + ".name wrong" + expected);
        auto shape = f.find("shape");
        std::vector<int64_t> got;
        bool ok = shape != f.end() && shape->is_array();
        if (ok)
            for (const json &d : *shape) {
                if (!d.is_number_integer()) {
                    ok = false;
                    break;
                }
                got.push_back(d.get<int64_t>());
            }
        if (!ok) return status::failure(fw + ".shape must be an array of integers" + expected);
        if (got != want.shape) return status::failure(fw + " is " + want.name + " " + shape_text(got) + expected);
    }

    auto dec = j.find("decoder");
    if (dec == j.end() || !dec->is_object())
        return status::failure(where + ".decoder missing (an object {\"inputs\", \"outputs\"})");
    std::vector<std::string> names;
    auto inputs = dec->find("inputs");
    if (inputs == dec->end() || !get_string_array(*inputs, names) || names != out.decoder_inputs)
        return status::failure(where + ".decoder.inputs must be " + names_text(out.decoder_inputs) + fam_msg);
    auto outputs = dec->find("outputs");
    if (outputs == dec->end() || !get_string_array(*outputs, names) || names != out.decoder_outputs)
        return status::failure(where + ".decoder.outputs must be " + names_text(out.decoder_outputs) + fam_msg);

    auto single = j.find("single_mask");
    const std::string want_single = single_mask_rule_name(out.single_mask);
    if (single == j.end() || !single->is_string() || single->get<std::string>() != want_single)
        return status::failure(where + ".single_mask must be \"" + want_single + "\"" + fam_msg);
    return status::success();
}

status parse_image_features(const json &e, const std::string &where, const model_spec &spec, bool may_omit,
                            manifest_image_features &out) {
    out.feature_files.assign(spec.features.size(), std::string());
    if (!e.is_object()) return status::failure(where + " is not an object");
    auto feats = e.find("features");
    if (feats == e.end()) {
        auto emb = e.find("embedding");
        if (may_omit && emb == e.end()) return status::success();  // to be computed by model.encoder
        if (spec.features.size() != 1)
            return status::failure(where + ".features missing (" + std::to_string(spec.features.size()) +
                                   " feature files per image for family " + model_family_name(spec.family) + ")");
        if (emb == e.end() || !emb->is_string()) return status::failure(where + ".embedding missing");
        out.feature_files[0] = emb->get<std::string>();
        if (!inside_dataset(out.feature_files[0]))
            return status::failure(where + ".embedding \"" + out.feature_files[0] +
                                   "\" is not a relative path inside the dataset");
        return status::success();
    }
    if (!feats->is_object()) return status::failure(where + ".features must be an object {name: file}");
    for (auto it = feats->begin(); it != feats->end(); ++it) {
        size_t k = 0;
        while (k < spec.features.size() && spec.features[k].name != it.key()) k++;
        if (k == spec.features.size())
            return status::failure(where + ".features." + it.key() + " is not a feature of family " +
                                   model_family_name(spec.family));
        if (!it.value().is_string()) return status::failure(where + ".features." + it.key() + " must be a file name");
        out.feature_files[k] = it.value().get<std::string>();
        if (!inside_dataset(out.feature_files[k]))
            return status::failure(where + ".features." + it.key() + " \"" + out.feature_files[k] +
                                   "\" is not a relative path inside the dataset");
    }
    for (size_t k = 0; k < spec.features.size(); k++)
        if (out.feature_files[k].empty()) return status::failure(where + ".features." + spec.features[k].name + " missing");
    return status::success();
}

}  // namespace

model_spec sam1_model_spec() {
    model_spec s;
    s.family = model_family::sam1;
    s.preprocess = preprocess_kind::longest_side_1024;
    s.features = {{tn::image_embeddings, {1, 256, 64, 64}}};
    s.decoder_inputs = {tn::image_embeddings, tn::point_coords, tn::point_labels,
                        tn::mask_input,       tn::has_mask_input, tn::orig_im_size};
    s.decoder_outputs = {tn::iou_predictions, tn::low_res_masks};
    s.single_mask = single_mask_rule::token_0;
    return s;
}

model_spec sam2_1_model_spec() {
    model_spec s;
    s.family = model_family::sam2_1;
    s.preprocess = preprocess_kind::square_1024;
    s.features = {{tn::image_embed, {1, 256, 64, 64}},
                  {tn::high_res_feats_0, {1, 32, 256, 256}},
                  {tn::high_res_feats_1, {1, 64, 128, 128}}};
    s.decoder_inputs = {tn::image_embed,  tn::high_res_feats_0, tn::high_res_feats_1, tn::point_coords,
                        tn::point_labels, tn::mask_input,       tn::has_mask_input};
    s.decoder_outputs = {tn::iou_predictions, tn::low_res_masks};
    s.single_mask = single_mask_rule::dynamic_stability;
    return s;
}

const char *model_family_name(model_family f) { return f == model_family::sam2_1 ? "sam2.1" : "sam"; }

const char *preprocess_kind_name(preprocess_kind p) {
    return p == preprocess_kind::square_1024 ? "square_1024" : "longest_side_1024";
}

const char *single_mask_rule_name(single_mask_rule r) {
    return r == single_mask_rule::dynamic_stability ? "dynamic_stability" : "token_0";
}

status manifest_model_parse(const std::string &text, const std::string &name, manifest_model &out) {
    out = manifest_model{};
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return status::failure(name + ": not a JSON object");
    auto ver = j.find("version");
    if (ver == j.end() || !ver->is_number_integer()) return status::failure(name + ": missing integer \"version\"");
    const int64_t version = ver->get<int64_t>();
    if (version != 1 && version != 2)
        return status::failure(name + ": version " + std::to_string(version) + " not supported (expected 1 or 2)");
    out.version = (int)version;
    auto model = j.find("model");
    if (model == j.end() || !model->is_object()) return status::failure(name + ": missing object \"model\"");
    auto spec = model->find("spec");
    if (spec == model->end()) {
        if (version == 2) return status::failure(name + ": model.spec missing (version 2 manifests describe their model)");
        out.spec = sam1_model_spec();
    } else {
        status st = parse_spec(*spec, name + ": model.spec", out.spec);
        if (!st) return st;
        if (version == 1 && out.spec.family != model_family::sam1)
            return status::failure(name + ": version 1 manifests are SAM 1 only; family " +
                                   model_family_name(out.spec.family) + " needs version 2");
    }
    auto images = j.find("images");
    if (images == j.end() || !images->is_array()) return status::failure(name + ": missing array \"images\"");
    // A model that names its encoder (in-browser encoding) may list images without features.
    auto encoder = model->find("encoder");
    const bool may_omit = encoder != model->end() && encoder->is_string() && !encoder->get<std::string>().empty();
    out.images.resize(images->size());
    for (size_t i = 0; i < images->size(); i++) {
        status st = parse_image_features((*images)[i], name + ": images[" + std::to_string(i) + "]", out.spec,
                                         may_omit, out.images[i]);
        if (!st) return st;
    }
    return status::success();
}

std::string model_spec_json(const model_spec &spec) {
    json feats = json::array();
    for (const feature_tensor &f : spec.features) feats.push_back({{"name", f.name}, {"shape", f.shape}});
    json j = {{"family", model_family_name(spec.family)},
              {"preprocess", preprocess_kind_name(spec.preprocess)},
              {"image_size", spec.image_size},
              {"features", feats},
              {"decoder", {{"inputs", spec.decoder_inputs}, {"outputs", spec.decoder_outputs}}},
              {"single_mask", single_mask_rule_name(spec.single_mask)}};
    return j.dump();
}

}  // namespace sam
