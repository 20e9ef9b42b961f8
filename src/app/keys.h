// keys.h - the key codes of input_event::key and ImGui's KeysDown[] (GLFW's values,
// which Emscripten's GLFW reports and imgui_impl_glfw maps; spelled here so the app
// needs no GLFW header).
#pragma once

namespace sam::keys {

constexpr int space = 32, slash = 47, digit_0 = 48, digit_1 = 49, digit_2 = 50, digit_3 = 51, digit_9 = 57;
constexpr int a = 65, b = 66, c = 67, e = 69, f = 70, h = 72, p = 80, y = 89, z = 90;
constexpr int escape = 256, enter = 257, tab = 258, backspace = 259, insert = 260, del = 261, right = 262, left = 263,
              down = 264, up = 265, page_up = 266, page_down = 267, home = 268, end = 269, f1 = 290, kp_enter = 335;
constexpr int left_shift = 340, left_control = 341, left_alt = 342, left_super = 343, right_shift = 344,
              right_control = 345, right_alt = 346, right_super = 347;
constexpr int last = 348;

}  // namespace sam::keys
