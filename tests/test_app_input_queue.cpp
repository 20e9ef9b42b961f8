// Tests of the input queue's split of events into ImGui frames: one transition per
// button and key per frame, a press at its own position, moves of a drag in order.
#include <doctest/doctest.h>

#include "app/input_queue.h"
#include "app/keys.h"

using namespace sam;

namespace {

input_event move(double x, double y) { return input_event{input_kind::mouse_move, x, y}; }
input_event button(int b, bool down) {
    input_event e{input_kind::mouse_button};
    e.button = b;
    e.down = down;
    return e;
}
input_event key(int k, bool down) {
    input_event e{input_kind::key};
    e.key = k;
    e.down = down;
    return e;
}

}  // namespace

TEST_CASE("app input queue: two clicks within one animation frame are two press/release pairs") {
    input_queue q;
    for (double x : {100.0, 200.0}) {
        q.push(move(x, 50));
        q.push(button(0, true));
        q.push(button(0, false));
    }
    std::vector<std::vector<input_event>> frames;
    while (!q.empty()) frames.push_back(q.take_frame());
    REQUIRE(frames.size() == 4);
    // press frames carry the position first: ImGui records the click where the mouse is that frame
    CHECK(frames[0].size() == 2);
    CHECK(frames[0][0].x == 100);
    CHECK(frames[0][1].down);
    CHECK(frames[1].size() == 1);
    CHECK_FALSE(frames[1][0].down);
    CHECK(frames[2][0].x == 200);
    CHECK(frames[2][1].down);
    CHECK_FALSE(frames[3][0].down);
}

TEST_CASE("app input queue: a drag keeps its press, moves and release in order; moves before a press coalesce") {
    input_queue q;
    q.push(move(10, 10));
    q.push(move(20, 20));
    q.push(button(0, true));
    q.push(move(30, 30));
    q.push(move(40, 40));
    q.push(button(0, false));
    const std::vector<input_event> a = q.take_frame(), b = q.take_frame(), c = q.take_frame();
    CHECK(q.empty());
    REQUIRE(a.size() == 3);  // both moves, then the press at (20, 20)
    CHECK(a[1].x == 20);
    REQUIRE(b.size() == 3);  // the drag's moves and the release at (40, 40)
    CHECK(b[1].x == 40);
    CHECK(b[2].kind == input_kind::mouse_button);
    CHECK(c.empty());
}

TEST_CASE("app input queue: a fast key tap is a press frame and a release frame; text stays with its key") {
    input_queue q;
    q.push(key(keys::enter, true));
    q.push(key(keys::enter, false));
    q.push(key(keys::a, true));
    input_event t{input_kind::text};
    t.codepoint = 'a';
    q.push(t);
    q.push(key(keys::a, false));
    const std::vector<input_event> a = q.take_frame(), b = q.take_frame(), c = q.take_frame();
    REQUIRE(a.size() == 1);
    CHECK(a[0].down);
    REQUIRE(b.size() == 3);  // Enter up, A down, its text
    CHECK(b[2].kind == input_kind::text);
    REQUIRE(c.size() == 1);
    CHECK_FALSE(c[0].down);
    CHECK(q.empty());
}
