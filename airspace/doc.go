// Package airspace loads sector sets (the VATSpy Data Project's FIR boundaries, the SimAware TRACON project's
// approach areas, vatSys sector files, custom GeoJSON files), answers which sectors a position is in, and which
// sectors the controllers online staff. A sector is identified by its set and its id: ids are unique only
// within a set.
//
// # Membership
//
// Sector membership is a set: VATSpy boundaries overlap by design (a FIR and its sub-sectors, up to nine at one
// point), so Locate returns every sector containing the position, sorted by set then ID, without duplicates.
//
// A position is in a sector when it is inside the sector's lateral shape and inside its altitude band:
//
//   - Lateral shape: a MultiPolygon in plain longitude/latitude (edges are straight lines in lon/lat, as RFC 7946
//     and VATSpy draw them). A position is inside a polygon when it is inside its exterior ring and not inside any
//     of its holes (even-odd rule over the polygon's rings), and inside the MultiPolygon when it is inside any of
//     its polygons (so overlapping parts are a union, never cancelled out).
//   - Boundary: the half-open crossing rule. A point exactly on an edge shared by two polygons belongs to exactly
//     one of them, never both and never neither; for axis-aligned edges it is the polygon to the east (for a
//     north-south edge) or to the north (for an east-west edge). So a polygon contains its west and south edges
//     and not its east and north ones. The index and the brute-force scan apply the same rule, bit for bit.
//   - Longitude 180 is treated as -180, so a position on the antimeridian falls in the sector east of it, the
//     same way as any other north-south edge. Longitudes outside [-180, 180) are wrapped; latitudes outside
//     [-90, 90] and NaNs are in no sector.
//   - Altitude band: FloorFt <= altitude < CeilingFt, with a nil bound unbounded. Half-open so that stacked
//     sectors sharing a level (lower ceiling = upper floor = FL245) partition the altitudes: at exactly FL245 the
//     aircraft is in the upper sector only. VATSpy has no bands; every VATSpy sector accepts every altitude,
//     negative ones included (the feed reports them).
//
// # Data attribution
//
// VATSpy data (Boundaries.geojson, VATSpy.dat) comes from the VATSpy Data Project
// (github.com/vatsimnetwork/vatspy-data-project), and TRACONBoundaries.geojson from the SimAware TRACON Project
// (github.com/vatsimnetwork/simaware-tracon-project), both licence CC BY-SA 4.0. Output derived from them must
// say so.
package airspace
