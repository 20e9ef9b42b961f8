// model_spec: the manifest's model spec for SAM 1 and SAM 2.1 datasets, old manifests,
// and the messages bad ones get.
#include <doctest/doctest.h>

#include <string>

#include "core/model_spec.h"

namespace {

std::string sam2_spec() { return sam::model_spec_json(sam::sam2_1_model_spec()); }

const char *sam2_image =
    R"({"id": 1, "file": "images/a.png", "width": 40, "height": 30, "embedding": "embeddings/image_embed/a.npy",
        "embedding_dtype": "float16",
        "features": {"image_embed": "embeddings/image_embed/a.npy",
                     "high_res_feats_0": "embeddings/high_res_feats_0/a.npy",
                     "high_res_feats_1": "embeddings/high_res_feats_1/a.npy"}})";

std::string manifest(int version, const std::string &spec, const std::string &images) {
    std::string m = R"({"version": )" + std::to_string(version) + R"(, "model": {"id": "m", "decoder": "decoder.onnx")";
    if (!spec.empty()) m += R"(, "spec": )" + spec;
    return m + R"(}, "images": [)" + images + "]}";
}

sam::status parse(const std::string &text, sam::manifest_model &mm) {
    return sam::manifest_model_parse(text, "manifest.json", mm);
}

bool says(const sam::status &st, const std::string &part) {
    if (st.message.find(part) == std::string::npos) {
        MESSAGE("message was: " << st.message);
        return false;
    }
    return true;
}

}  // namespace

TEST_CASE("model_spec: a version 1 manifest without a spec is SAM 1") {
    sam::manifest_model mm;
    const std::string img = R"({"id": 3, "file": "images/a.jpg", "width": 4, "height": 3, "embedding": "embeddings/a.npy"})";
    REQUIRE(parse(manifest(1, "", img + "," + img), mm).ok());
    CHECK(mm.version == 1);
    CHECK(mm.spec.family == sam::model_family::sam1);
    CHECK(mm.spec.preprocess == sam::preprocess_kind::longest_side_1024);
    CHECK(mm.spec.single_mask == sam::single_mask_rule::token_0);
    REQUIRE(mm.spec.features.size() == 1);
    CHECK(mm.spec.features[0].name == "image_embeddings");
    CHECK(mm.spec.features[0].shape == std::vector<int64_t>{1, 256, 64, 64});
    CHECK(mm.spec.decoder_inputs.back() == "orig_im_size");
    REQUIRE(mm.images.size() == 2);
    CHECK(mm.images[1].feature_files == std::vector<std::string>{"embeddings/a.npy"});
    // The same with the spec written out (what the embedder writes now).
    REQUIRE(parse(manifest(1, sam::model_spec_json(sam::sam1_model_spec()), img), mm).ok());
    CHECK(mm.spec.family == sam::model_family::sam1);
}

TEST_CASE("model_spec: a SAM 2.1 dataset (version 2)") {
    sam::manifest_model mm;
    REQUIRE(parse(manifest(2, sam2_spec(), sam2_image), mm).ok());
    CHECK(mm.version == 2);
    CHECK(mm.spec.family == sam::model_family::sam2_1);
    CHECK(mm.spec.preprocess == sam::preprocess_kind::square_1024);
    CHECK(mm.spec.single_mask == sam::single_mask_rule::dynamic_stability);
    REQUIRE(mm.spec.features.size() == 3);
    CHECK(mm.spec.features[1].name == "high_res_feats_0");
    CHECK(mm.spec.features[1].shape == std::vector<int64_t>{1, 32, 256, 256});
    CHECK(mm.spec.features[2].shape == std::vector<int64_t>{1, 64, 128, 128});
    CHECK(mm.spec.decoder_inputs == std::vector<std::string>{"image_embed", "high_res_feats_0", "high_res_feats_1",
                                                             "point_coords", "point_labels", "mask_input",
                                                             "has_mask_input"});
    CHECK(mm.spec.decoder_outputs == std::vector<std::string>{"iou_predictions", "low_res_masks"});
    REQUIRE(mm.images.size() == 1);
    CHECK(mm.images[0].feature_files ==
          std::vector<std::string>{"embeddings/image_embed/a.npy", "embeddings/high_res_feats_0/a.npy",
                                   "embeddings/high_res_feats_1/a.npy"});
}

TEST_CASE("model_spec: what is refused, and how it is said") {
    sam::manifest_model mm;
    std::string spec = sam2_spec();
    auto with = [&](const std::string &from, const std::string &to) {
        std::string s = spec;
        size_t at = s.find(from);
        REQUIRE(at != std::string::npos);
        return s.replace(at, from.size(), to);
    };
    SUBCASE("versions") {
        CHECK(says(parse(manifest(3, sam2_spec(), sam2_image), mm), "version 3 not supported"));
        CHECK(says(parse(manifest(2, "", sam2_image), mm), "model.spec missing"));
        CHECK(says(parse(manifest(1, sam2_spec(), sam2_image), mm), "version 1 manifests are SAM 1 only"));
        CHECK(says(parse("[1, 2]", mm), "not a JSON object"));
        CHECK(says(parse(R"({"version": "2"})", mm), "missing integer \"version\""));
    }
    SUBCASE("the spec must be the family's") {
        CHECK(says(parse(manifest(2, with("\"sam2.1\"", "\"sam3\""), sam2_image), mm),
                   "model.spec.family \"sam3\" not supported"));
        CHECK(says(parse(manifest(2, with("square_1024", "longest_side_1024"), sam2_image), mm),
                   "model.spec.preprocess must be \"square_1024\" for family sam2.1"));
        CHECK(says(parse(manifest(2, with("[1,32,256,256]", "[1,32,128,128]"), sam2_image), mm),
                   "model.spec.features[1] is high_res_feats_0 [1, 32, 128, 128], expected high_res_feats_0 "
                   "[1, 32, 256, 256]"));
        CHECK(says(parse(manifest(2, with("\"high_res_feats_1\",\"shape\"", "\"hr1\",\"shape\""), sam2_image), mm),
                   "model.spec.features[2].name wrong"));
        CHECK(says(parse(manifest(2, with("\"has_mask_input\"]", "\"has_mask_input\",\"orig_im_size\"]"), sam2_image),
                         mm),
                   "model.spec.decoder.inputs must be [image_embed"));
        CHECK(says(parse(manifest(2, with("dynamic_stability", "token_0"), sam2_image), mm),
                   "model.spec.single_mask must be \"dynamic_stability\""));
        CHECK(says(parse(manifest(2, with("\"image_size\":1024", "\"image_size\":512"), sam2_image), mm),
                   "image_size must be 1024"));
    }
    SUBCASE("each image needs every feature file, inside the dataset") {
        std::string img = sam2_image;
        auto img_with = [&](const std::string &from, const std::string &to) {
            std::string s = img;
            size_t at = s.find(from);
            REQUIRE(at != std::string::npos);
            return s.replace(at, from.size(), to);
        };
        CHECK(says(parse(manifest(2, spec, img_with("\"high_res_feats_1\": \"embeddings/high_res_feats_1/a.npy\"",
                                                    "\"x\": \"y.npy\"")),
                         mm),
                   "images[0].features.x is not a feature of family sam2.1"));
        CHECK(says(parse(manifest(2, spec, img_with(",\n                     \"high_res_feats_1\": \"embeddings/high_res_feats_1/a.npy\"",
                                                    "")),
                         mm),
                   "images[0].features.high_res_feats_1 missing"));
        CHECK(says(parse(manifest(2, spec, img_with("embeddings/high_res_feats_0/a.npy", "../../etc/passwd")), mm),
                   "images[0].features.high_res_feats_0 \"../../etc/passwd\" is not a relative path inside the dataset"));
        for (const char *bad : {"/abs.npy", "http://x/a.npy", "a\\\\b.npy", "a//b.npy", "data:,1"})
            CHECK(says(parse(manifest(2, spec, img_with("embeddings/high_res_feats_0/a.npy", bad)), mm),
                       "is not a relative path inside the dataset"));
        // A colon inside a name is a file name, not a URL scheme.
        CHECK(parse(manifest(2, spec, img_with("embeddings/high_res_feats_0/a.npy", "embeddings/12:30.npy")), mm).ok());
        CHECK(says(parse(manifest(2, spec, R"({"embedding": "a.npy"})"), mm),
                   "images[0].features missing (3 feature files per image for family sam2.1)"));
        CHECK(says(parse(manifest(1, "", R"({"file": "a.png"})"), mm), "images[0].embedding missing"));
        CHECK(says(parse(manifest(2, spec, "7"), mm), "images[0] is not an object"));
    }
}

TEST_CASE("model_spec: names") {
    CHECK(std::string(sam::model_family_name(sam::model_family::sam2_1)) == "sam2.1");
    CHECK(std::string(sam::preprocess_kind_name(sam::preprocess_kind::square_1024)) == "square_1024");
    CHECK(std::string(sam::single_mask_rule_name(sam::single_mask_rule::dynamic_stability)) == "dynamic_stability");
    CHECK(std::string(sam::tensor_names::high_res_feats_1) == "high_res_feats_1");
}
