#include "app/cpp_decoder.h"

#include <chrono>

#include "core/sam_decoder.h"

namespace sam {

namespace {

class cpp_decoder final : public native_decoder {
public:
    status load(const std::vector<uint8_t> &bytes, const std::string &name) override {
        return dec_.load(bytes.data(), bytes.size(), name);
    }
    int num_outputs() const override { return dec_.loaded() ? dec_.num_outputs() : 4; }
    status set_image(const std::vector<float> &embedding) override {
        if (!dec_.loaded()) return status::failure("set_image: no decoder weights loaded");
        return dec_.set_image(embedding.data(), embedding.size());
    }
    status predict(const decoder_request &r, decoder_result &out) override {
        const auto t0 = std::chrono::steady_clock::now();
        sam_prompt p;
        p.point_coords = r.point_coords.data();
        p.point_labels = r.point_labels.data();
        p.num_points = (int)r.point_labels.size();
        if (r.point_coords.size() != 2 * r.point_labels.size())
            return status::failure("predict: point_coords must hold 2 values per label");
        if (!r.mask_input.empty()) {
            if (r.mask_input.size() != dec_.mask_count())
                return status::failure("predict: mask_input must hold " + std::to_string(dec_.mask_count()) + " values");
            p.mask_input = r.mask_input.data();
        }
        const int k = dec_.num_outputs();
        out.mask_count = k;
        out.iou_predictions.assign((size_t)k, 0.0f);
        out.low_res_masks.assign((size_t)k * dec_.mask_count(), 0.0f);
        status st = dec_.predict(p, out.iou_predictions.data(), out.low_res_masks.data());
        out.decode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return st;
    }

private:
    sam_decoder dec_;
};

}  // namespace

std::unique_ptr<native_decoder> make_cpp_decoder() { return std::make_unique<cpp_decoder>(); }

}  // namespace sam
