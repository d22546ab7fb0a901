// Radio coverage per sector: the share of a sector's current occupants that are in contact with a controller
// (LiveFlight.working). The service streams no sector's occupants, only every live flight (WatchFlights), so
// this is computed here, in the browser, from the live flights and the sector outlines the page already has
// (GetSectorGeometry, simplified as drawn): a flight occupies every sector with a polygon containing its
// position (even-odd rule over the polygon's rings) whose altitude band, when it has one, holds its altitude
// (floor inclusive, ceiling exclusive). Being computed from the simplified outlines, the occupants can differ
// by a few from the service's flight counts along sector edges.
//
// Speed: 3,000 flights × 1,100 sectors is 3.3 million pairs. A grid of 2° cells, each listing the sectors whose
// bounding box overlaps it, leaves a handful of candidates per flight; their bounding boxes drop most, and
// only the rest have their rings tested. The rings are flattened into typed arrays once, when the outlines load.
import type { LiveFlight } from "./gen/vatsector/v1/flight_service_pb";
import type { SectorCollection, SectorFeature } from "./geometry";

export interface SectorCoverage {
  /** Live flights inside the sector. */
  occupants: number;
  /** Of those, the flights in contact with a controller. */
  working: number;
}

export interface CoverageResult {
  /** By resource name; sectors without occupants are absent. */
  sectors: Map<string, SectorCoverage>;
  /** Wall time of the computation, in milliseconds. */
  computeMs: number;
}

/** Share of the occupants in contact, 0 to 1; undefined for a sector without occupants. */
export function shareOf(c: SectorCoverage | undefined): number | undefined {
  return c && c.occupants > 0 ? c.working / c.occupants : undefined;
}

interface Shape {
  name: string;
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
  floor: number; // -Infinity when unbounded
  ceiling: number; // +Infinity when unbounded
  /** Every ring's points, lon then lat. */
  coords: Float64Array;
  /** Start (in points) of each ring in coords, plus the end: ring r is points ringStart[r] to ringStart[r+1]. */
  ringStart: Int32Array;
  /** First ring of each polygon, plus the ring count: polygon p is rings polyStart[p] to polyStart[p+1]. */
  polyStart: Int32Array;
}

const cellDeg = 2;
const cols = 360 / cellDeg;
const rows = 180 / cellDeg;

export class CoverageIndex {
  private readonly shapes: Shape[];
  /** The sectors of grid cell c are cellItems[cellStart[c]] to cellItems[cellStart[c+1]]. */
  private readonly cellStart: Int32Array;
  private readonly cellItems: Int32Array;

  constructor(collection: SectorCollection) {
    this.shapes = collection.features.map(shapeOf);
    // Two passes over the cells each sector's bounding box overlaps: count, then fill (a compact CSR layout).
    const counts = new Int32Array(cols * rows + 1);
    this.forEachCell((cell) => counts[cell]++);
    this.cellStart = new Int32Array(cols * rows + 1);
    for (let c = 0, sum = 0; c <= cols * rows; c++) {
      this.cellStart[c] = sum;
      sum += counts[c];
    }
    this.cellItems = new Int32Array(this.cellStart[cols * rows]);
    const fill = this.cellStart.slice();
    this.forEachCell((cell, i) => (this.cellItems[fill[cell]++] = i));
  }

  /**
   * Calls fn for every (cell, sector) pair where the sector's bounding box overlaps the cell. Longitudes past
   * ±180 (outlines continued across the antimeridian) wrap around to the cells they fall in.
   */
  private forEachCell(fn: (cell: number, sector: number) => void): void {
    this.shapes.forEach((s, i) => {
      if (!(s.minLon <= s.maxLon)) return; // no points
      const c0 = Math.floor((s.minLon + 180) / cellDeg);
      const c1 = Math.min(Math.floor((s.maxLon + 180) / cellDeg), c0 + cols - 1);
      const r0 = rowOf(s.minLat);
      const r1 = rowOf(s.maxLat);
      for (let c = c0; c <= c1; c++) {
        const col = ((c % cols) + cols) % cols;
        for (let r = r0; r <= r1; r++) fn(r * cols + col, i);
      }
    });
  }

  /** The occupants of every sector, and how many of them are in contact with a controller. */
  compute(flights: readonly LiveFlight[]): CoverageResult {
    const t0 = performance.now();
    const occupants = new Int32Array(this.shapes.length);
    const working = new Int32Array(this.shapes.length);
    const { shapes, cellStart, cellItems } = this;
    for (const f of flights) {
      const lat = f.latitude;
      const lon = f.longitude;
      const alt = f.altitudeFt;
      const cell = rowOf(lat) * cols + colOf(lon);
      for (let k = cellStart[cell], end = cellStart[cell + 1]; k < end; k++) {
        const i = cellItems[k];
        const s = shapes[i];
        if (lat < s.minLat || lat > s.maxLat || alt < s.floor || alt >= s.ceiling) continue;
        // The longitude shifted by a turn too, as SectorIndex.at tries it.
        if (contains(s, lon, lat) || contains(s, lon - 360, lat) || contains(s, lon + 360, lat)) {
          occupants[i]++;
          if (f.working) working[i]++;
        }
      }
    }
    const sectors = new Map<string, SectorCoverage>();
    for (let i = 0; i < shapes.length; i++) {
      if (occupants[i] > 0) sectors.set(shapes[i].name, { occupants: occupants[i], working: working[i] });
    }
    return { sectors, computeMs: performance.now() - t0 };
  }
}

function rowOf(lat: number): number {
  return Math.min(rows - 1, Math.max(0, Math.floor((lat + 90) / cellDeg)));
}

function colOf(lon: number): number {
  const c = Math.floor((lon + 180) / cellDeg);
  return ((c % cols) + cols) % cols;
}

function shapeOf(f: SectorFeature): Shape {
  const polygons = f.geometry.type === "MultiPolygon" ? f.geometry.coordinates : [f.geometry.coordinates];
  let points = 0;
  let rings = 0;
  for (const p of polygons) {
    rings += p.length;
    for (const r of p) points += r.length;
  }
  const coords = new Float64Array(points * 2);
  const ringStart = new Int32Array(rings + 1);
  const polyStart = new Int32Array(polygons.length + 1);
  let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity;
  let pt = 0;
  let ri = 0;
  polygons.forEach((p, pi) => {
    polyStart[pi] = ri;
    for (const ring of p) {
      ringStart[ri++] = pt;
      for (const [lon, lat] of ring) {
        coords[pt * 2] = lon;
        coords[pt * 2 + 1] = lat;
        pt++;
        if (lon < minLon) minLon = lon;
        if (lon > maxLon) maxLon = lon;
        if (lat < minLat) minLat = lat;
        if (lat > maxLat) maxLat = lat;
      }
    }
  });
  ringStart[rings] = pt;
  polyStart[polygons.length] = rings;
  const { floor_ft: floor, ceiling_ft: ceiling } = f.properties;
  return {
    name: f.properties.name,
    minLon, minLat, maxLon, maxLat,
    floor: floor ?? -Infinity,
    ceiling: ceiling ?? Infinity,
    coords, ringStart, polyStart,
  };
}

/** Whether a point is inside any polygon of the shape: even-odd rule over each polygon's rings (holes). */
function contains(s: Shape, lon: number, lat: number): boolean {
  if (lon < s.minLon || lon > s.maxLon) return false;
  const { coords, ringStart, polyStart } = s;
  for (let p = 0; p + 1 < polyStart.length; p++) {
    let inside = false;
    for (let r = polyStart[p]; r < polyStart[p + 1]; r++) {
      const a = ringStart[r];
      const b = ringStart[r + 1];
      for (let i = a, j = b - 1; i < b; j = i++) {
        const xi = coords[i * 2], yi = coords[i * 2 + 1];
        const xj = coords[j * 2], yj = coords[j * 2 + 1];
        // The same expression as geometry.ts's polygonContains (and the browser test's recomputation).
        if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
    if (inside) return true;
  }
  return false;
}
