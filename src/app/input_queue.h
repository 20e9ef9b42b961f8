// input_queue.h - input events in the order they happened, split into ImGui frames the
// way ImGui 1.87's input queue trickles them (1.86, ours, polls state once per frame):
// a frame takes events until a mouse button or key would change a second time, a
// mouse move follows a button change, or text follows a key change; the rest waits
// for the next frame. So a click is a press frame and a release frame at the event's
// position, two clicks are two, and a drag's press, moves and release stay in order,
// however many events one slow animation frame collects.
//   q.push(e) (from event callbacks);  per ImGui frame: for (const input_event &e : q.take_frame()) apply(e);
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace sam {

enum class input_kind { mouse_move, mouse_button, wheel, key, text };

struct input_event {
    input_kind kind = input_kind::mouse_move;
    double x = 0, y = 0;    // mouse_move: canvas pixels; wheel: dx, dy (notches, +y = up)
    int button = 0;         // mouse_button: 0 left, 1 right, 2 middle
    bool down = false;      // mouse_button / key
    int key = 0;            // key: GLFW key code (app/keys.h)
    unsigned codepoint = 0; // text
};

class input_queue {
public:
    void push(const input_event &e) { events_.push_back(e); }
    bool empty() const { return events_.empty(); }
    size_t size() const { return events_.size(); }
    // The events of the next ImGui frame (at least one when not empty).
    std::vector<input_event> take_frame();

private:
    std::deque<input_event> events_;
};

}  // namespace sam
