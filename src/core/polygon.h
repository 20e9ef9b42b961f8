// polygon.h - binary mask <-> COCO polygons.
// polygon.xy = x0,y0,x1,y1,... in pixel coordinates of the mask, COCO convention: pixel
// (x, y) covers [x, x+1) x [y, y+1), so a polygon traces pixel CORNERS (a lone pixel at
// (3,4) is the square (3,4)-(4,4)-(4,5)-(3,5)). polygons_to_mask rasterises exactly like
// pycocotools (maskApi.c rleFrPoly + merge), the way COCO users will decode our output.
#pragma once
#include <vector>

#include "core/image.h"

namespace sam {

struct polygon {
    std::vector<float> xy;  // x0,y0,x1,y1,...; at least 3 points; closed implicitly
};

// Holes: COCO unions all polygons of one annotation, so a hole cannot be expressed in a
// polygon list. `polygons` are the OUTER borders only (their union is the mask with its
// holes filled); the borders of the holes go to `holes` (for drawing outlines) and
// `has_holes` is set, so an exporter should fall back to RLE for such a mask.
// Diagonal-only contact (pixels touching at a corner) counts as separate components
// (4-connectivity for the foreground), matching how the edge tracer walks corners.
struct polygon_set {
    std::vector<polygon> polygons;  // outer borders, one per 4-connected component
    std::vector<polygon> holes;     // borders of holes (8-connected background regions)
    bool has_holes = false;
};

// Traces the pixel-corner borders of `m` (exact: at tolerance 0 the polygons rasterise back
// to `m` for axis-aligned shapes), drops collinear corners, simplifies each ring with
// Douglas-Peucker at `tolerance_px` (pixels; <= 0 keeps every corner). A ring that the
// simplification would leave with fewer than 3 points (a speck, a one-pixel-wide line) is
// kept unsimplified, so every component of the mask is represented.
polygon_set mask_to_polygons(const binary_mask &m, double tolerance_px);

// Rasterises like pycocotools frPyObjects + merge (union): height x width mask, row-major.
// Points outside the mask are clipped as maskApi.c does.
binary_mask polygons_to_mask(const std::vector<polygon> &polys, int height, int width);

}  // namespace sam
