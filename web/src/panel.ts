// The side panel: a sector's occupants, hourly traffic and staffing profile, or a flight's summary. Each
// part loads on its own, so a slow statistic does not hold the occupants back; a newer selection discards
// the answers of an older one.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { api, errorMessage } from "./api";
import { el, formatCount } from "./dom";
import type { SectorProperties } from "./geometry";
import { TrafficBucket } from "./gen/vatsector/v1/stats_service_pb";
import type { SectorState } from "./occupancy";
import { staffingGrid } from "./staffingGrid";
import { dateTime, durationText, timestampMillis } from "./time";
import { trafficChart } from "./trafficChart";

export interface PanelContext {
  /** Feed time of the newest committed cycle: the traffic chart's 24 hours end there (a replay is in the past). */
  feedTime: () => Timestamp | undefined;
  stateOf: (name: string) => SectorState | undefined;
  onFlight: (id: bigint) => void;
  onClose: () => void;
}

const occupantsShown = 200;

export class Panel {
  private generation = 0;
  private sector: SectorProperties | undefined;
  private occupantsBox: HTMLElement | undefined;

  constructor(private readonly root: HTMLElement, private readonly ctx: PanelContext) {}

  get openSector(): string | undefined {
    return this.sector?.name;
  }

  close(): void {
    this.generation++;
    this.sector = undefined;
    this.root.hidden = true;
    this.root.replaceChildren();
    delete this.root.dataset.sector;
    delete this.root.dataset.flight;
    this.ctx.onClose();
  }

  showSector(sector: SectorProperties, alsoHere: SectorProperties[], onPick: (s: SectorProperties) => void): void {
    const gen = ++this.generation;
    this.sector = sector;
    this.root.hidden = false;
    this.root.dataset.kind = "sector";
    this.root.dataset.sector = sector.name;
    delete this.root.dataset.flight;

    const state = this.ctx.stateOf(sector.name);
    const band = sector.floor_ft !== null || sector.ceiling_ft !== null
      ? ` · ${sector.floor_ft ?? "SFC"}–${sector.ceiling_ft ?? "UNL"} ft`
      : "";
    this.occupantsBox = el("div", {}, "loading…");
    const traffic = el("div", {}, "loading…");
    const staffing = el("div", {}, "loading…");
    const others = alsoHere.length
      ? el("p", { class: "also-here" }, "Also here: ", ...alsoHere.flatMap((s, i) => {
          const link = el("a", { href: "#" }, s.label || s.id);
          link.addEventListener("click", (e) => { e.preventDefault(); onPick(s); });
          return i ? [", ", link] : [link];
        }))
      : null;
    this.root.replaceChildren(
      this.header(el("h2", { class: "sector-title" }, sector.label && sector.label !== sector.id ? `${sector.label} (${sector.id})` : sector.id)),
      el("p", { class: "sub sector-name" }, `${sector.name} · ${sector.kind}${band}`),
      el("p", {}, state?.staffed ? `Staffed by ${state.staffedBy.join(", ") || "a controller"}` : "Not staffed"),
      others ?? "",
      el("h3", {}, "Flights inside"),
      this.occupantsBox,
      el("h3", {}, "Traffic, last 24 hours (UTC)"),
      traffic,
      el("h3", {}, "Staffing profile, last 8 weeks (UTC)"),
      staffing,
    );
    void this.loadOccupants(gen, sector.name);
    void this.load(gen, traffic, async () => {
      const endMs = timestampMillis(this.ctx.feedTime()) || Date.now();
      const res = await api.stats.getSectorTraffic({
        name: sector.name,
        bucket: TrafficBucket.HOUR,
        range: { start: timestampFromMs(endMs - 24 * 3600_000), end: timestampFromMs(endMs) },
      });
      return trafficChart(res.buckets, this.root.clientWidth - 32);
    });
    void this.load(gen, staffing, async () => {
      const res = await api.stats.getStaffingProfile({ name: sector.name, weeks: 8 });
      return staffingGrid(res.cells);
    });
  }

  /** Reloads the open sector's occupants (after a cycle changed them). */
  refreshOccupants(): void {
    if (this.sector) void this.loadOccupants(this.generation, this.sector.name);
  }

  showFlight(id: bigint): void {
    const gen = ++this.generation;
    this.sector = undefined;
    this.root.hidden = false;
    this.root.dataset.kind = "flight";
    this.root.dataset.flight = String(id);
    delete this.root.dataset.sector;
    const body = el("div", {}, "loading…");
    this.root.replaceChildren(this.header(el("h2", {}, `Flight ${id}`)), body);
    void this.load(gen, body, async () => {
      const { flight, summary } = await api.flights.getFlightSummary({ selector: { case: "id", value: id }, maxVisits: 30 });
      if (!flight || !summary) throw new Error("the response has no flight");
      const title = this.root.querySelector("h2");
      if (title) title.textContent = flight.callsign;
      const plan = flight.flightPlan;
      const pos = flight.position;
      const rows: [string, string][] = [
        ["Route", plan ? `${plan.departure || "?"} → ${plan.arrival || "?"}` : "no flight plan"],
        ["Aircraft", plan?.aircraftShort || "—"],
        ["Altitude", pos ? `${formatCount(pos.altitudeFt)} ft` : "—"],
        ["Ground speed", pos ? `${pos.groundspeedKt} kt` : "—"],
        ["Online", `${durationText(summary.onlineDuration)}${flight.online ? "" : " (offline)"}`],
        ["Airborne", durationText(summary.airborne)],
        ["Distance flown", `${formatCount(Math.round(summary.distanceNm))} NM`],
        ["Highest altitude", summary.highestAltitudeFt !== undefined ? `${formatCount(summary.highestAltitudeFt)} ft` : "—"],
        ["First seen", dateTime(summary.firstSeen)],
      ];
      const visits = el("ol", { class: "visits" }, ...summary.visits.map((v) =>
        el("li", {}, `${v.visit?.sectorId ?? "?"} `, el("span", { class: "sub" }, `${durationText(v.duration)}${v.open ? " (inside)" : ""}`))));
      return el("div", { class: "flight-summary" },
        el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        el("h3", {}, `Sector visits${summary.visitsTruncated ? " (newest 30)" : ""}`),
        summary.visits.length ? visits : el("p", {}, "none"));
    });
  }

  private header(title: HTMLElement): HTMLElement {
    const close = el("button", { class: "close", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => this.close());
    return el("header", {}, title, close);
  }

  private async loadOccupants(gen: number, name: string): Promise<void> {
    const box = this.occupantsBox;
    if (!box) return;
    await this.load(gen, box, async () => {
      const res = await api.sectors.getSectorOccupancy({ name, pageSize: occupantsShown });
      const count = res.sector?.flightCount ?? res.occupants.length;
      const list = el("ul", { class: "occupants" });
      for (const o of res.occupants) {
        const p = o.position;
        const link = el("a", { href: "#" }, o.flight?.callsign ?? "?");
        link.addEventListener("click", (e) => {
          e.preventDefault();
          if (o.flight) this.ctx.onFlight(o.flight.id);
        });
        list.append(el("li", {}, link, " ", el("span", { class: "sub" }, p ? `${altitudeText(p.altitudeFt)} · ${p.groundspeedKt} kt` : "")));
      }
      const more = count > res.occupants.length ? el("p", { class: "sub" }, `… and ${count - res.occupants.length} more`) : null;
      return el("div", { class: "occupants-box", "data-count": String(count) },
        el("p", {}, `${formatCount(count)} flight${count === 1 ? "" : "s"}`), list, more);
    });
  }

  /** Fills box with what build returns, or with the error, unless a newer selection came meanwhile. */
  private async load(gen: number, box: HTMLElement, build: () => Promise<HTMLElement>): Promise<void> {
    try {
      const content = await build();
      if (gen === this.generation) box.replaceChildren(content);
    } catch (err) {
      if (gen === this.generation) box.replaceChildren(el("p", { class: "error" }, `Could not load: ${errorMessage(err)}`));
    }
  }
}

/** "FL350" at and above the usual transition level, "4,500 ft" below: short enough for two columns. */
function altitudeText(ft: number): string {
  return ft >= 18_000 ? `FL${String(Math.round(ft / 100)).padStart(3, "0")}` : `${formatCount(ft)} ft`;
}
