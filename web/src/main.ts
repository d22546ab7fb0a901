// The live map: sectors shaded by occupancy (or by radio coverage), staffed ones outlined, flights as points
// (filled when in contact with a controller), a panel on click; kept current by the server streams, each
// reopened with backoff when it ends.
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./style.css";
import { api, errorMessage } from "./api";
import { CoverageIndex, shareOf, type CoverageResult } from "./coverage";
import { fetchSectors, SectorIndex, type SectorProperties } from "./geometry";
import { FlightsLayer } from "./flightsLayer";
import { OccupancyState } from "./occupancy";
import { Panel } from "./panel";
import type { LiveFlight } from "./gen/vatsector/v1/flight_service_pb";
import { SectorsLayer, type Shading } from "./sectorsLayer";
import { renderLegend, Status } from "./status";
import { follow } from "./stream";
import { durationMs } from "./time";

const status = new Status(document.getElementById("status")!);
const legend = document.getElementById("legend")!;
const coverageToggle = document.getElementById("coverage-toggle") as HTMLButtonElement;
let shading: Shading = "occupancy";
renderLegend(legend, shading);

const map = L.map("map", {
  preferCanvas: true,
  zoomSnap: 0.5,
  minZoom: 1.5,
  maxZoom: 11,
  worldCopyJump: false,
  attributionControl: true,
}).setView([30, 10], 2.5);
map.attributionControl.setPrefix(false);
map.attributionControl.addAttribution("Sectors: VATSpy Data Project (CC BY-SA 4.0) and the loaded sets · Traffic: VATSIM");
const renderer = L.canvas({ padding: 0.3 });
const flights = new FlightsLayer().addTo(map);
const occupancy = new OccupancyState();
let sectors: SectorsLayer | undefined;
let index: SectorIndex | undefined;
let coverageIndex: CoverageIndex | undefined;
let coverage: CoverageResult | undefined;
/** The latest WatchFlights message, by flight id, and the flights working each controller (by callsign). */
let liveFlights: LiveFlight[] = [];
let liveById = new Map<bigint, LiveFlight>();
let workingBy = new Map<bigint, LiveFlight[]>();
let liveAsOf: LiveFlight[] | undefined; // the flights the coverage was computed from

const panel = new Panel(document.getElementById("panel")!, {
  feedTime: () => status.feedTime,
  stateOf: (name) => occupancy.sectors.get(name),
  onFlight: (id) => openFlight(id),
  liveFlight: (id) => liveById.get(id),
  workingFlights: (id) => workingBy.get(id) ?? [],
  onClose: () => {
    sectors?.select(undefined);
    flights.select(undefined);
  },
});

function openSector(s: SectorProperties, alsoHere: SectorProperties[]): void {
  flights.select(undefined);
  sectors?.select(s.name);
  panel.showSector(s, alsoHere, (other) => openSector(other, alsoHere.filter((o) => o.name !== other.name).concat(s)));
}

function openFlight(id: bigint): void {
  sectors?.select(undefined);
  flights.select(id);
  panel.showFlight(id);
}

// A flight under the pointer wins over the sectors it is in; of the sectors, the smallest is meant (a
// sub-sector rather than the FIR around it), and the others are offered in the panel.
map.on("click", (e: L.LeafletMouseEvent) => {
  const flight = flights.nearest(e.containerPoint);
  if (flight) return openFlight(flight.id);
  const hits = index?.at(e.latlng.lat, e.latlng.lng) ?? [];
  if (hits.length === 0) return panel.close();
  openSector(hits[0].properties, hits.slice(1).map((f) => f.properties));
});

async function loadSectors(): Promise<void> {
  for (let delay = 1_000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      const collection = await fetchSectors();
      index = new SectorIndex(collection);
      coverageIndex = new CoverageIndex(collection);
      updateCoverage();
      sectors = new SectorsLayer(map, collection, renderer, (name) => occupancy.sectors.get(name),
        (name) => coverage?.sectors.get(name), shading);
      flights.redraw(); // above the sectors
      status.sectorsDrawn = sectors.drawn;
      status.error = "";
      status.render();
      return;
    } catch (err) {
      status.error = `sector outlines: ${errorMessage(err)}`;
      status.render();
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Recomputes each sector's coverage share from the live flights (when they or the outlines changed), and
 * restyles the sectors whose share changed if coverage is what the map shows. It is computed here, in the
 * browser, from the live flights and the outlines (see coverage.ts): no stream sends each sector's occupants.
 */
function updateCoverage(): void {
  if (!coverageIndex || liveAsOf === liveFlights) return;
  const before = coverage;
  coverage = coverageIndex.compute(liveFlights);
  liveAsOf = liveFlights;
  status.coverageAsOf = status.flightsAsOf;
  status.coverageMs = coverage.computeMs;
  if (sectors?.shading !== "coverage") return;
  const changed: string[] = [];
  for (const [name, c] of coverage.sectors) if (shareOf(c) !== shareOf(before?.sectors.get(name))) changed.push(name);
  for (const name of before?.sectors.keys() ?? []) if (!coverage.sectors.has(name)) changed.push(name);
  sectors.refresh(changed);
}

function setShading(next: Shading): void {
  shading = next;
  coverageToggle.setAttribute("aria-pressed", String(next === "coverage"));
  updateCoverage();
  sectors?.setShading(next);
  renderLegend(legend, next);
  status.shading = next;
  status.render();
}
coverageToggle.addEventListener("click", () => setShading(shading === "coverage" ? "occupancy" : "coverage"));

follow({
  name: "WatchSectorOccupancy",
  open: (signal) => api.sectors.watchSectorOccupancy({}, { signal }),
  onMessage: (msg) => {
    const { changed, replaced } = occupancy.apply(msg);
    if (replaced) sectors?.refreshAll();
    else sectors?.refresh(changed);
    if (changed.length) {
      status.occupancySectors = occupancy.sectors.size;
      status.occupancyFlights = occupancy.totalFlightCount();
      status.occupancyCycle = occupancy.cycleId;
      status.occupancyFeedTime = occupancy.feedTime;
      status.render();
    }
    const open = panel.openSector;
    if (open && changed.includes(open)) panel.refreshOccupants();
  },
});

follow({
  name: "WatchFlights",
  open: (signal) => api.flights.watchFlights({}, { signal }),
  onMessage: (msg) => {
    liveFlights = msg.flights;
    liveById = new Map(msg.flights.map((f) => [f.id, f]));
    workingBy = new Map();
    for (const f of msg.flights) {
      if (!f.working) continue;
      const list = workingBy.get(f.working.id);
      if (list) list.push(f);
      else workingBy.set(f.working.id, [f]);
    }
    for (const list of workingBy.values()) list.sort((a, b) => a.callsign.localeCompare(b.callsign));
    flights.setFlights(msg.flights);
    status.flightsDrawn = msg.flights.length;
    status.flightsWorking = flights.working;
    status.flightsAsOf = msg.asOf;
    updateCoverage();
    panel.flightsUpdated();
    status.render();
  },
});

follow({
  name: "WatchIngestion",
  open: (signal) => api.ingest.watchIngestion({ includeLast: true }, { signal }),
  onMessage: (msg) => {
    status.cycleSeen(msg.cycle?.updateTimestamp);
    status.render();
  },
  onState: (state) => {
    status.ingestStream = state;
    status.render();
  },
});

// The server's own verdict on ingestion (health state and reason), polled: the stream only says when cycles
// commit, not why they stopped.
async function pollIngestionStatus(): Promise<void> {
  try {
    const s = await api.ingest.getIngestionStatus({});
    status.serverHealth = s.health?.state ?? status.serverHealth;
    status.serverReason = s.health?.reason ?? "";
    status.pollIntervalMs = durationMs(s.pollInterval) || status.pollIntervalMs;
    if (!status.feedTime && s.lastCommittedCycle) status.cycleSeen(s.lastCommittedCycle.updateTimestamp);
  } catch (err) {
    console.warn(`GetIngestionStatus: ${errorMessage(err)}`);
  }
  status.render();
  setTimeout(pollIngestionStatus, Math.max(status.pollIntervalMs, 5_000));
}

void pollIngestionStatus();
void loadSectors();

/**
 * For automation (the browser test): a point of the map, in pixels from its top left, where a click opens
 * the named sector's panel, or null when none is in view. It asks the same index the click handler does.
 */
function pointInside(name: string): { x: number; y: number } | null {
  const box = index?.bounds(name);
  if (!index || !box) return null;
  const size = map.getSize();
  const candidates: L.Point[] = [];
  const steps = 24;
  for (let i = 1; i < steps; i++) {
    for (let j = 1; j < steps; j++) {
      const lat = box[0][0] + ((box[1][0] - box[0][0]) * i) / steps;
      const lon = box[0][1] + ((box[1][1] - box[0][1]) * j) / steps;
      const p = map.latLngToContainerPoint([lat, lon]);
      if (p.x < 20 || p.y < 20 || p.x > size.x - 20 || p.y > size.y - 20) continue;
      const latlng = map.containerPointToLatLng(p);
      if (index.at(latlng.lat, latlng.lng)[0]?.properties.name !== name) continue;
      if (flights.nearest(p, 10)) continue;
      candidates.push(p);
    }
  }
  const centre = map.latLngToContainerPoint([(box[0][0] + box[1][0]) / 2, (box[0][1] + box[1][1]) / 2]);
  candidates.sort((a, b) => a.distanceTo(centre) - b.distanceTo(centre));
  return candidates[0] ? { x: Math.round(candidates[0].x), y: Math.round(candidates[0].y) } : null;
}

/** For automation: shows the named sector whole. */
function fitSector(name: string): boolean {
  const box = index?.bounds(name);
  if (!box) return false;
  map.fitBounds(box, { animate: false, padding: [40, 40] });
  return true;
}

/**
 * For automation: the coverage the page computed (and shades the sectors by), for every sector with occupants:
 * [occupants, of them in contact].
 */
function coverageShares(): { computeMs: number; flights: number; sectors: Record<string, [number, number]> } {
  updateCoverage();
  const out: Record<string, [number, number]> = {};
  for (const [name, c] of coverage?.sectors ?? []) out[name] = [c.occupants, c.working];
  return { computeMs: coverage?.computeMs ?? NaN, flights: liveAsOf?.length ?? 0, sectors: out };
}

/**
 * For automation: times the coverage computation for n flights (the live ones, repeated with their positions
 * shifted so they spread over the same airspace), the median and the slowest of a few runs, in milliseconds.
 */
function benchCoverage(n: number): { flights: number; sectors: number; medianMs: number; maxMs: number } {
  if (!coverageIndex || liveFlights.length === 0) return { flights: 0, sectors: 0, medianMs: NaN, maxMs: NaN };
  const many: LiveFlight[] = [];
  for (let i = 0; i < n; i++) {
    const f = liveFlights[i % liveFlights.length];
    const k = Math.floor(i / liveFlights.length);
    many.push({ ...f, latitude: Math.max(-89, Math.min(89, f.latitude + k * 0.37)), longitude: f.longitude + k * 0.53 });
  }
  const times: number[] = [];
  let sectorsHit = 0;
  for (let run = 0; run < 7; run++) {
    const r = coverageIndex.compute(many);
    times.push(r.computeMs);
    sectorsHit = r.sectors.size;
  }
  times.sort((a, b) => a - b);
  return { flights: n, sectors: sectorsHit, medianMs: times[3], maxMs: times[6] };
}

(window as unknown as { vatsector: unknown }).vatsector = { pointInside, fitSector, coverageShares, benchCoverage };
