#include "app/input_queue.h"

#include <set>

namespace sam {

std::vector<input_event> input_queue::take_frame() {
    std::vector<input_event> out;
    std::set<int> buttons, keys;
    bool button_changed = false, key_changed = false;
    while (!events_.empty()) {
        const input_event &e = events_.front();
        if (e.kind == input_kind::mouse_button) {
            if (buttons.count(e.button)) break;
            buttons.insert(e.button);
            button_changed = true;
        } else if (e.kind == input_kind::mouse_move || e.kind == input_kind::wheel) {
            if (button_changed) break;  // the press happened where the mouse was before this move
        } else if (e.kind == input_kind::key) {
            if (keys.count(e.key)) break;
            keys.insert(e.key);
            key_changed = true;
        } else if (e.kind == input_kind::text) {
            if (key_changed && !out.empty() && out.back().kind != input_kind::key) break;
        }
        out.push_back(e);
        events_.pop_front();
    }
    return out;
}

}  // namespace sam
