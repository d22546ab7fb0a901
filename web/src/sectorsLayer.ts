// The sectors drawn as the base map, on one canvas: the fill shades a sector by its flight count (occupancy),
// or by the share of its occupants in contact with a controller (coverage); the outline tells whether a
// controller staffs it.
import L from "leaflet";
import { shareOf, type SectorCoverage } from "./coverage";
import type { SectorCollection, SectorFeature } from "./geometry";
import type { SectorState } from "./occupancy";

export type Shading = "occupancy" | "coverage";

/** Flight counts from which each shade starts; the last shade is for the busiest sectors. */
export const occupancySteps: { from: number; color: string }[] = [
  { from: 1, color: "#fff3b0" },
  { from: 3, color: "#fed976" },
  { from: 6, color: "#feb24c" },
  { from: 11, color: "#fd8d3c" },
  { from: 21, color: "#f03b20" },
  { from: 41, color: "#bd0026" },
];

/**
 * Shares of the occupants in contact from which each shade starts: red where most of the traffic talks to
 * nobody, green where all of it is on a controller's frequency.
 */
export const coverageSteps: { from: number; color: string; label: string }[] = [
  { from: 0, color: "#d7191c", label: "<25%" },
  { from: 0.25, color: "#fdae61", label: "25–49%" },
  { from: 0.5, color: "#ffffbf", label: "50–74%" },
  { from: 0.75, color: "#a6d96a", label: "75–99%" },
  { from: 1, color: "#1a9641", label: "100%" },
];

export const staffedColor = "#00b35a";
const unstaffedColor = "#5d6f82";
const selectedColor = "#1f6feb";

function fillFor(count: number): { fillColor: string; fillOpacity: number } {
  let color = "";
  for (const step of occupancySteps) if (count >= step.from) color = step.color;
  // Light: sets overlap by design (a FIR under its sub-sectors, up to nine deep), and the fills add up.
  return color ? { fillColor: color, fillOpacity: 0.3 } : emptyFill;
}

const emptyFill = { fillColor: "#9fb3c8", fillOpacity: 0.03 };

function coverageFill(c: SectorCoverage | undefined): { fillColor: string; fillOpacity: number } {
  const share = shareOf(c);
  if (share === undefined) return emptyFill; // no occupants: no share to show
  let color = coverageSteps[0].color;
  for (const step of coverageSteps) if (share >= step.from) color = step.color;
  return { fillColor: color, fillOpacity: 0.35 };
}

export class SectorsLayer {
  private readonly paths = new Map<string, L.Path>();
  private selected: string | undefined;
  private readonly layer: L.GeoJSON;
  private shadingMode: Shading = "occupancy";

  constructor(
    map: L.Map,
    collection: SectorCollection,
    renderer: L.Renderer,
    private readonly stateOf: (name: string) => SectorState | undefined,
    private readonly coverageOf: (name: string) => SectorCoverage | undefined,
    shading: Shading,
  ) {
    this.shadingMode = shading;
    this.layer = L.geoJSON(collection as GeoJSON.FeatureCollection, {
      // Clicks are resolved by the page (SectorIndex), not by Leaflet: sectors overlap, and the page wants the
      // smallest one under the pointer, not the one drawn last.
      interactive: false,
      renderer,
      style: (f) => this.styleOf((f as unknown as SectorFeature).properties.name),
      onEachFeature: (f, layer) => {
        this.paths.set((f as unknown as SectorFeature).properties.name, layer as L.Path);
      },
    } as L.GeoJSONOptions);
    this.layer.addTo(map);
  }

  get drawn(): number {
    return this.paths.size;
  }

  /** Restyles the named sectors (Leaflet redraws the canvas once per frame, whatever the count). */
  refresh(names: Iterable<string>): void {
    for (const name of names) this.paths.get(name)?.setStyle(this.styleOf(name));
  }

  refreshAll(): void {
    this.refresh(this.paths.keys());
  }

  get shading(): Shading {
    return this.shadingMode;
  }

  /** Switches the fills between occupancy and coverage. */
  setShading(shading: Shading): void {
    if (shading === this.shadingMode) return;
    this.shadingMode = shading;
    this.refreshAll();
  }

  select(name: string | undefined): void {
    const before = this.selected;
    this.selected = name;
    this.refresh([before, name].filter((n): n is string => !!n));
    if (name) this.paths.get(name)?.bringToFront();
  }

  private styleOf(name: string): L.PathOptions {
    const state = this.stateOf(name);
    const staffed = state?.staffed ?? false;
    const base: L.PathOptions = {
      ...(this.shadingMode === "coverage" ? coverageFill(this.coverageOf(name)) : fillFor(state?.flightCount ?? 0)),
      color: staffed ? staffedColor : unstaffedColor,
      weight: staffed ? 2 : 0.6,
      opacity: staffed ? 0.95 : 0.6,
    };
    if (name === this.selected) return { ...base, color: selectedColor, weight: 3, opacity: 1 };
    return base;
  }
}
