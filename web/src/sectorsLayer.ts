// The sectors drawn as the base map, on one canvas: the fill shades a sector by its flight count, the outline
// tells whether a controller staffs it.
import L from "leaflet";
import type { SectorCollection, SectorFeature } from "./geometry";
import type { SectorState } from "./occupancy";

/** Flight counts from which each shade starts; the last shade is for the busiest sectors. */
export const occupancySteps: { from: number; color: string }[] = [
  { from: 1, color: "#fff3b0" },
  { from: 3, color: "#fed976" },
  { from: 6, color: "#feb24c" },
  { from: 11, color: "#fd8d3c" },
  { from: 21, color: "#f03b20" },
  { from: 41, color: "#bd0026" },
];

export const staffedColor = "#00b35a";
const unstaffedColor = "#5d6f82";
const selectedColor = "#1f6feb";

function fillFor(count: number): { fillColor: string; fillOpacity: number } {
  let color = "";
  for (const step of occupancySteps) if (count >= step.from) color = step.color;
  // Light: sets overlap by design (a FIR under its sub-sectors, up to nine deep), and the fills add up.
  return color ? { fillColor: color, fillOpacity: 0.3 } : { fillColor: "#9fb3c8", fillOpacity: 0.03 };
}

export class SectorsLayer {
  private readonly paths = new Map<string, L.Path>();
  private selected: string | undefined;
  private readonly layer: L.GeoJSON;

  constructor(
    map: L.Map,
    collection: SectorCollection,
    renderer: L.Renderer,
    private readonly stateOf: (name: string) => SectorState | undefined,
  ) {
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
      ...fillFor(state?.flightCount ?? 0),
      color: staffed ? staffedColor : unstaffedColor,
      weight: staffed ? 2 : 0.6,
      opacity: staffed ? 0.95 : 0.6,
    };
    if (name === this.selected) return { ...base, color: selectedColor, weight: 3, opacity: 1 };
    return base;
  }
}
