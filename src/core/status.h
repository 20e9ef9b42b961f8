// status.h - how the core reports failure without exceptions.
// A function that can fail on bad input returns sam::status; an empty
// `message` means success. Messages name the file or field and the problem,
// e.g. "cat.npy: dtype <f8 not supported (expected <f4 or <f2)".
#pragma once
#include <string>
#include <utility>

namespace sam {

struct status {
    std::string message;  // empty on success

    bool ok() const { return message.empty(); }
    explicit operator bool() const { return ok(); }

    static status success() { return {}; }
    static status failure(std::string m) {
        if (m.empty()) m = "unknown error";
        return status{std::move(m)};
    }
};

}  // namespace sam
