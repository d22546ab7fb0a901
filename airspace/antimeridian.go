package airspace

import "math"

// splitAntimeridian turns a closed ring whose longitudes are each within [-180, 180] into closed rings that each
// lie within [-180, 180] and together cover the same area, for sources (vatSys) that draw a boundary across the
// antimeridian by jumping from +179 to -179.
//
// The ring is unwrapped first: every edge is taken the short way round, so a step of more than 180 degrees of
// longitude is a crossing and the following longitudes are shifted by ±360 (an edge of exactly 180 degrees is
// ambiguous and kept as written). The unwrapped ring is then clipped to each 360-degree window [-180+360k,
// 180+360k] it reaches, and each piece shifted back by -360k. A piece of a concave ring may come out as one ring
// touching itself along the window's edge; the doubled edge lies on the meridian and cancels in the even-odd
// count, so the result contains exactly the unwrapped ring's points.
//
// A ring whose unwrapped longitudes do not come back to the start (net ±360) encircles a pole. It is closed over
// the pole nearer its mean latitude (the cap, not the rest of the globe), along the meridians at its two ends.
func splitAntimeridian(ring []point) [][]point {
	if len(ring) < 2 {
		return [][]point{ring}
	}
	u := make([]point, len(ring))
	u[0] = ring[0]
	shift := 0.0
	crossed := false
	for i := 1; i < len(ring); i++ {
		d := ring[i].x + shift - u[i-1].x
		switch {
		case d > 180:
			shift -= 360
			crossed = true
		case d < -180:
			shift += 360
			crossed = true
		}
		u[i] = point{ring[i].x + shift, ring[i].y}
	}
	if !crossed {
		return [][]point{ring}
	}
	if net := u[len(u)-1].x - u[0].x; net != 0 {
		// Around a pole: the last point is the first one shifted by ±360.
		sumLat := 0.0
		for _, p := range u[:len(u)-1] {
			sumLat += p.y
		}
		pole := 90.0
		if sumLat < 0 {
			pole = -90
		}
		last := u[len(u)-1]
		u = append(u, point{last.x, pole}, point{u[0].x, pole}, u[0])
	}
	minX, maxX := math.Inf(1), math.Inf(-1)
	for _, p := range u {
		minX, maxX = min(minX, p.x), max(maxX, p.x)
	}
	var out [][]point
	for k := math.Floor((minX + 180) / 360); k*360-180 < maxX; k++ {
		lo, hi := k*360-180, k*360+180
		piece := clipX(clipX(u, lo, true), hi, false)
		piece = dropRepeats(piece)
		if len(piece) < 4 || ringArea(piece) == 0 {
			continue
		}
		for i := range piece {
			piece[i].x -= k * 360
			// Clipped ends land on the window's edges exactly; keep them there against rounding.
			piece[i].x = min(max(piece[i].x, -180), 180)
		}
		out = append(out, piece)
	}
	return out
}

// clipX clips a closed ring to the half-plane x >= c (keepGreater) or x <= c (Sutherland-Hodgman), returning a
// closed ring, or nil when nothing is left.
func clipX(r []point, c float64, keepGreater bool) []point {
	if len(r) == 0 {
		return nil
	}
	inside := func(p point) bool {
		if keepGreater {
			return p.x >= c
		}
		return p.x <= c
	}
	var out []point
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		ain, bin := inside(a), inside(b)
		if ain {
			out = append(out, a)
		}
		if ain != bin {
			// The edge crosses x = c strictly between its ends.
			t := (c - a.x) / (b.x - a.x)
			out = append(out, point{c, a.y + t*(b.y-a.y)})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append(out, out[0])
}

// dropRepeats removes consecutive duplicate points (clipping repeats a vertex lying on the clip line).
func dropRepeats(r []point) []point {
	out := r[:0:0]
	for _, p := range r {
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ringArea is twice the signed area of a closed ring (shoelace); 0 for a degenerate one.
func ringArea(r []point) float64 {
	a := 0.0
	for i := 0; i+1 < len(r); i++ {
		a += r[i].x*r[i+1].y - r[i+1].x*r[i].y
	}
	return a
}
