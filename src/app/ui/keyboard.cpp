// keyboard.cpp - the keyboard shortcuts (help_window lists them), read from ImGui's
// key state one transition per frame (the platform's input queue), so a fast tap is
// never missed and two taps are two.
#include "app/annotator.h"
#include "app/keys.h"
#include "imgui.h"

namespace sam {

void keyboard_shortcuts(annotator &app) {
    ImGuiIO &io = ImGui::GetIO();
    if (io.WantTextInput) return;
    const bool ctrl = io.KeyCtrl || io.KeySuper, shift = io.KeyShift, alt = io.KeyAlt;
    auto pressed = [](int key) { return ImGui::IsKeyPressed(key, false); };
    if (ctrl) {
        if (pressed(keys::z) && shift) annotator_redo(app);
        else if (pressed(keys::z)) annotator_undo(app);
        else if (pressed(keys::y)) annotator_redo(app);
        return;
    }
    for (int k = keys::digit_1; k <= keys::digit_9; ++k) {
        if (!pressed(k)) continue;
        if (shift) {  // category by number
            const size_t n = (size_t)(k - keys::digit_1);
            if (n < app.doc.doc.categories().size()) app.doc.current_category = app.doc.doc.categories()[n].id;
        } else if (k <= keys::digit_3) {
            annotator_select_candidate(app, k - keys::digit_0);
        }
    }
    prompt_state &p = app.prompt;
    if (pressed(keys::f)) app.canvas.fit_pending = true;
    if (pressed(keys::b)) p.tool = tool_kind::box;
    if (pressed(keys::p)) p.tool = tool_kind::point;
    if (pressed(keys::e)) p.tool = tool_kind::proposal;
    if (pressed(keys::c)) document_confirm(app.doc, app.doc.selected_annotation);
    if (pressed(keys::h))
        if (const annotation *a = app.doc.doc.find_annotation(app.doc.selected_annotation))
            document_set_hidden(app.doc, a->id, !a->hidden);
    if (pressed(keys::escape)) {
        if (p.shape.empty()) app.doc.selected_annotation = 0;
        annotator_clear_prompt(app);
    }
    if (pressed(keys::enter) || pressed(keys::kp_enter)) {
        if (p.tool == tool_kind::proposal && !shift && !alt && p.shape.empty())
            annotator_accept_proposal(app, app.proposals.selected);
        else
            annotator_accept(app, shift ? accept_merge::add : alt ? accept_merge::subtract : accept_merge::none);
    }
    if (pressed(keys::del) || pressed(keys::backspace)) annotator_delete_selected(app);
    if (pressed(keys::f1) || (shift && pressed(keys::slash))) app.ui.show_help = !app.ui.show_help;  // F1, '?'
    if (pressed(keys::right) || pressed(keys::page_down)) annotator_open_image(app, app.data.current + 1);
    if (pressed(keys::left) || pressed(keys::page_up)) annotator_open_image(app, app.data.current - 1);
}

}  // namespace sam
