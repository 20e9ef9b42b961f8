// polygon_join.h - one polygon for a whole mask: its outer borders and holes joined by
// zero-width bridges, for formats with one polygon per instance (YOLO segmentation labels).
// Input: the rings of mask_to_polygons (pixel-corner coordinates of the mask). Output: one
// closed polygon, same frame, that walks every ring once and every bridge twice (out and
// back along the same two points), so an even-odd or non-zero-winding rasteriser
// (pycocotools, OpenCV fillPoly, PIL) fills exactly the mask: holes stay open.
//   sam::polygon p = sam::join_rings(sam::mask_to_polygons(mask, 1.0));
#pragma once
#include "core/polygon.h"

namespace sam {

// Rings are linked into a tree: each outer border, in the tracer's scan order, is bridged
// to the nearest vertex of an earlier one, then each hole to the nearest vertex of any
// ring placed before it (the Ultralytics `merge_multi_segment` idea of joining parts at
// their closest points, extended to holes). The tree is walked depth first: at a bridge's
// vertex the walk crosses over, goes once round the child ring (and its children), and
// comes back. Outer rings keep their clockwise (screen) and holes their counter-clockwise
// direction, so non-zero winding rasterisers also leave the holes open. Consecutive
// repeated points (bridges of length 0 between rings that share a corner) are dropped.
// Nearest vertices are searched on a grid with a bounded number of queries per ring, so a
// bridge is the shortest or close to it. Empty input gives an empty polygon.
polygon join_rings(const polygon_set &rings);

}  // namespace sam
