#include "app/proposals.h"

#include <algorithm>
#include <string>

#include "core/rle.h"

namespace sam {

namespace {

// Outlines: Douglas-Peucker tolerance in image pixels (drawing only; masks stay exact).
constexpr double k_outline_tolerance = 1.0;

std::string stem_of(const std::string &path) {
    const size_t slash = path.find_last_of("/\\");
    std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
    const size_t dot = b.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}

bool same_mask(const rle &a, const rle &b) { return a.height == b.height && a.width == b.width && a.counts == b.counts; }

void set_list(proposals_state &p, mask_proposals list) {
    p.outlines.clear();
    for (const mask_proposal &q : list.proposals)
        p.outlines.push_back(mask_to_polygons(rle_to_mask(q.segmentation), k_outline_tolerance));
    p.proposals = std::move(list);
    p.taken.assign(p.proposals.proposals.size(), 0);
    p.taken_revision = ~uint64_t(0);
    p.accepted_as.clear();
    p.selected = -1;
    p.revision++;
}

// Adds proposal `index` (machine-made, current category); no checks of taken-ness.
status add_annotation(proposals_state &p, document_state &d, int64_t image_id, size_t index, int64_t *out_id) {
    const mask_proposal &q = p.proposals.proposals[index];
    annotation a;
    a.image_id = image_id;
    a.category_id = d.current_category;
    a.mask = q.segmentation;
    a.score = q.predicted_iou;
    a.source = annotation_source::machine;
    if (q.has_point) a.prompts.points.push_back(prompt_point{q.point[0], q.point[1], 1});
    status st = document_add_annotation(d, std::move(a), out_id);
    if (st) p.accepted_as[index] = *out_id;
    return st;
}

}  // namespace

void proposals_clear(proposals_state &p) {
    const bool show = p.show;
    const float min_iou = p.min_iou;
    const uint64_t revision = p.revision;
    p = proposals_state{};
    p.show = show;
    p.min_iou = min_iou;
    p.revision = revision + 1;
}

// The file lives at a fixed place beside the manifest: proposals/<stem of the embedding>.json,
// as scripts/embed --everything names it (proposals_path in scripts/embedder/everything.mjs).
void proposals_load(proposals_state &p, const dataset_state &d, app_messages &m) {
    proposals_clear(p);
    const manifest_image *entry = shown_entry(d);
    if (!entry || entry->embedding.empty() || is_local_url(entry->embedding) || is_local_url(d.manifest_url)) return;
    const std::string relative = "proposals/" + stem_of(entry->embedding) + ".json";
    p.url = url_resolve(d.manifest_url, relative);
    p.status = "loading";
    const int generation = d.load_generation;
    const int w = entry->width, h = entry->height;
    http_request r;
    r.url = p.url;
    platform_http(r, [&p, &d, &m, generation, w, h, relative](int code, std::string body, std::string error) {
        if (generation != d.load_generation) return;
        if (code == 404) {
            p.status = "missing";  // none made for this image: not an error
            return;
        }
        if (code != 200) {
            p.status = "error";
            return add_image_error(m, relative + ": " + (code ? "HTTP " + std::to_string(code) : error));
        }
        mask_proposals list;
        status st = parse_mask_proposals(body, relative, w, h, list);
        if (!st) {
            p.status = "error";
            return add_image_error(m, st.message);
        }
        set_list(p, std::move(list));
        p.status = "loaded";
    });
}

void proposals_set(proposals_state &p, mask_proposals made, const std::string &status) {
    set_list(p, std::move(made));
    p.status = status;
}

void proposals_update_taken(proposals_state &p, const annotation_document &doc, int64_t image_id) {
    if (p.proposals.proposals.empty() || p.taken_revision == doc.revision()) return;
    p.taken_revision = doc.revision();
    const size_t n = p.proposals.proposals.size();
    std::vector<char> taken(n, 0);
    for (const auto &kv : p.accepted_as)
        if (kv.first < n && doc.find_annotation(kv.second)) taken[kv.first] = 1;
    for (const annotation &a : doc.annotations()) {
        if (a.image_id != image_id) continue;
        for (size_t i = 0; i < n; ++i)
            if (!taken[i] && same_mask(a.mask, p.proposals.proposals[i].segmentation)) taken[i] = 1;
    }
    if (taken != p.taken) {
        p.taken = std::move(taken);
        p.revision++;
    }
    if (p.selected >= 0 && p.taken[(size_t)p.selected]) proposals_select(p, -1);
}

bool proposal_available(const proposals_state &p, int index) {
    return index >= 0 && index < (int)p.proposals.proposals.size() &&
           !((size_t)index < p.taken.size() && p.taken[(size_t)index]);
}

void proposals_select(proposals_state &p, int index) {
    if (index == p.selected) return;
    p.selected = index;
    p.revision++;
}

void proposals_select_at(proposals_state &p, double x, double y) {
    std::vector<int> under;
    for (size_t i = 0; i < p.proposals.proposals.size(); ++i)
        if (proposal_available(p, (int)i) && rle_contains(p.proposals.proposals[i].segmentation, (int)x, (int)y))
            under.push_back((int)i);
    if (under.empty()) return proposals_select(p, -1);
    std::stable_sort(under.begin(), under.end(), [&](int a, int b) {
        return p.proposals.proposals[(size_t)a].area < p.proposals.proposals[(size_t)b].area;
    });
    auto it = std::find(under.begin(), under.end(), p.selected);
    proposals_select(p, it == under.end() || it + 1 == under.end() ? under.front() : *(it + 1));
}

int proposals_accept(proposals_state &p, document_state &d, int64_t image_id, int index, app_messages &m) {
    if (!proposal_available(p, index)) return 0;
    int64_t id = 0;
    status st = add_annotation(p, d, image_id, (size_t)index, &id);
    if (!st) {
        add_error(m, "accept proposal: " + st.message);
        return 0;
    }
    d.selected_annotation = id;
    proposals_select(p, -1);
    proposals_update_taken(p, d.doc, image_id);
    return 1;
}

int proposals_accept_above(proposals_state &p, document_state &d, int64_t image_id, double min_iou,
                           app_messages &m) {
    proposals_update_taken(p, d.doc, image_id);
    std::vector<size_t> chosen;
    for (size_t i = 0; i < p.proposals.proposals.size(); ++i)
        if (proposal_available(p, (int)i) && p.proposals.proposals[i].predicted_iou >= min_iou) chosen.push_back(i);
    if (chosen.empty()) {
        add_notice(m, "No proposal left with predicted IoU >= " + std::to_string(min_iou).substr(0, 4));
        return 0;
    }
    // best first, so the annotation list reads from the most confident
    std::stable_sort(chosen.begin(), chosen.end(), [&](size_t a, size_t b) {
        return p.proposals.proposals[a].predicted_iou > p.proposals.proposals[b].predicted_iou;
    });
    document_begin_group(d, "accept proposals");
    for (size_t i : chosen) {
        int64_t id = 0;
        status st = add_annotation(p, d, image_id, i, &id);
        if (!st) {
            document_cancel_group(d);
            add_error(m, "accept proposals: " + st.message);
            return 0;
        }
    }
    document_end_group(d);
    proposals_select(p, -1);
    add_notice(m, "Accepted " + std::to_string(chosen.size()) + " proposals");
    proposals_update_taken(p, d.doc, image_id);
    return (int)chosen.size();
}

}  // namespace sam
