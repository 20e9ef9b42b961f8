// messages.h - what the app tells the user in words: errors (the Problems window and
// state().errors), errors about the shown image's files (cleared when another image
// opens), and notices (informational lines in the status bar: restored, saved, ...).
// Every error is also printed to stderr (the browser console).
#pragma once
#include <string>
#include <vector>

namespace sam {

struct app_messages {
    std::vector<std::string> errors;
    std::vector<std::string> image_errors;
    std::vector<std::string> notices;
};

void add_error(app_messages &m, std::string message);
void add_image_error(app_messages &m, std::string message);
void add_notice(app_messages &m, std::string message);
inline bool has_errors(const app_messages &m) { return !m.errors.empty() || !m.image_errors.empty(); }

}  // namespace sam
