// The sector outlines, which are also the base map: fetched once from the service's REST endpoint
// (GetSectorGeometry), and indexed for finding the sectors under a click.
import { apiBase } from "./api";

export interface SectorProperties {
  /** Resource name, "sets/{set}/sectors/{id}": the key of everything else on the page. */
  name: string;
  set: string;
  id: string;
  label: string;
  kind: string;
  floor_ft: number | null;
  ceiling_ft: number | null;
}

type Ring = [number, number][];
type Polygon = Ring[];

export interface SectorFeature {
  type: "Feature";
  properties: SectorProperties;
  geometry: { type: "MultiPolygon"; coordinates: Polygon[] } | { type: "Polygon"; coordinates: Polygon };
}

export interface SectorCollection {
  type: "FeatureCollection";
  features: SectorFeature[];
}

/**
 * Simplified for a world map: 0.02° (about 2 km) keeps every outline recognisable and makes the 1,100 VATSpy
 * sectors a fraction of their exact size, to download and to draw.
 */
const toleranceDeg = 0.02;

export async function fetchSectors(): Promise<SectorCollection> {
  const url = `${apiBase}/v1/sectors:geojson?tolerance_deg=${toleranceDeg}`;
  const res = await fetch(url, { headers: { Accept: "application/geo+json, application/json" } });
  if (!res.ok) {
    throw new Error(`GET ${url}: ${res.status} ${res.statusText}: ${(await res.text()).slice(0, 200)}`);
  }
  const body = (await res.json()) as SectorCollection;
  if (body?.type !== "FeatureCollection" || !Array.isArray(body.features)) {
    throw new Error(`GET ${url}: not a GeoJSON FeatureCollection`);
  }
  return body;
}

function polygonsOf(f: SectorFeature): Polygon[] {
  return f.geometry.type === "MultiPolygon" ? f.geometry.coordinates : [f.geometry.coordinates];
}

interface Indexed {
  feature: SectorFeature;
  polygons: Polygon[];
  // Bounding box, to skip most sectors without testing their rings.
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
  /** Planar area in square degrees: only compared, to prefer the smallest sector under a click. */
  area: number;
}

/** Finds the sectors at a point. Sets overlap by design (a FIR and its sub-sectors), up to nine deep. */
export class SectorIndex {
  private readonly items: Indexed[];

  constructor(collection: SectorCollection) {
    this.items = collection.features.map((feature) => {
      const polygons = polygonsOf(feature);
      let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity, area = 0;
      for (const polygon of polygons) {
        polygon.forEach((ring, i) => {
          for (const [lon, lat] of ring) {
            minLon = Math.min(minLon, lon);
            maxLon = Math.max(maxLon, lon);
            minLat = Math.min(minLat, lat);
            maxLat = Math.max(maxLat, lat);
          }
          area += (i === 0 ? 1 : -1) * Math.abs(ringArea(ring)); // holes subtract
        });
      }
      return { feature, polygons, minLon, minLat, maxLon, maxLat, area };
    });
  }

  get size(): number {
    return this.items.length;
  }

  /**
   * The sectors containing the point, smallest first (the most specific one is what a click means). The
   * longitude is tried shifted by a turn too: outlines across the antimeridian continue past ±180, and the
   * map's longitudes are not wrapped either.
   */
  at(lat: number, lon: number): SectorFeature[] {
    const hits: Indexed[] = [];
    for (const item of this.items) {
      for (const l of [lon, lon - 360, lon + 360]) {
        if (l < item.minLon || l > item.maxLon || lat < item.minLat || lat > item.maxLat) continue;
        if (item.polygons.some((p) => polygonContains(p, l, lat))) {
          hits.push(item);
          break;
        }
      }
    }
    hits.sort((a, b) => a.area - b.area || a.feature.properties.name.localeCompare(b.feature.properties.name));
    return hits.map((h) => h.feature);
  }

  /** The bounding box of one sector, as [[south, west], [north, east]]. */
  bounds(name: string): [[number, number], [number, number]] | undefined {
    const item = this.items.find((i) => i.feature.properties.name === name);
    return item && [[item.minLat, item.minLon], [item.maxLat, item.maxLon]];
  }
}

function ringArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return sum / 2;
}

/** Even-odd rule over the outer ring and its holes. */
function polygonContains(polygon: Polygon, lon: number, lat: number): boolean {
  let inside = false;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}
