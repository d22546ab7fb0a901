// The status line: how fresh the feed is and what the map shows. Its data-* attributes carry the same facts
// in a form a test reads (counts as integers, feed times in full RFC 3339).
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { el, formatCount } from "./dom";
import { HealthState } from "./gen/vatsector/v1/ingest_service_pb";
import { coverageSteps, occupancySteps, staffedColor, type Shading } from "./sectorsLayer";
import type { StreamState } from "./stream";
import { clockTime, timestampIso } from "./time";

export type Freshness = "connecting" | "ok" | "degraded" | "stale" | "standby" | "disconnected";

export class Status {
  /** Feed time (update_timestamp) of the newest committed cycle the page heard of. */
  feedTime: Timestamp | undefined;
  serverHealth: HealthState = HealthState.UNSPECIFIED;
  serverReason = "";
  pollIntervalMs = 15_000;
  /** Browser time the newest cycle arrived: the page's own staleness check, should the server go quiet. */
  private lastCycleSeenAt = 0;
  ingestStream: StreamState = "connecting";
  sectorsDrawn = 0;
  flightsDrawn = 0;
  flightsAsOf: Timestamp | undefined;
  /** Flights drawn as in contact with a controller (LiveFlight.working set). */
  flightsWorking = 0;
  shading: Shading = "occupancy";
  /** The flights (their as_of) the coverage shares were last computed from, and how long that took. */
  coverageAsOf: Timestamp | undefined;
  coverageMs = 0;
  occupancySectors = 0;
  occupancyFlights = 0;
  occupancyCycle = 0n;
  occupancyFeedTime: Timestamp | undefined;
  error = "";

  constructor(private readonly node: HTMLElement) {
    // Re-evaluate freshness even when nothing arrives: silence is what makes a feed stale.
    setInterval(() => this.render(), 5_000);
  }

  cycleSeen(feedTime: Timestamp | undefined): void {
    this.feedTime = feedTime;
    this.lastCycleSeenAt = Date.now();
  }

  freshness(): Freshness {
    if (this.ingestStream === "retrying") return "disconnected";
    if (!this.feedTime) return "connecting";
    // A cycle every poll interval is expected; several missing in a row means the feed (or ingest) stalled
    // even if the server has not said so yet.
    const quietMs = Date.now() - this.lastCycleSeenAt;
    if (this.serverHealth === HealthState.STALE || quietMs > Math.max(60_000, 4 * this.pollIntervalMs)) return "stale";
    if (this.serverHealth === HealthState.DEGRADED) return "degraded";
    if (this.serverHealth === HealthState.STANDBY) return "standby";
    return "ok";
  }

  render(): void {
    const fresh = this.freshness();
    const d = this.node.dataset;
    d.health = fresh;
    d.feedTime = timestampIso(this.feedTime);
    d.sectors = String(this.sectorsDrawn);
    d.flights = String(this.flightsDrawn);
    d.flightsAsOf = timestampIso(this.flightsAsOf);
    d.flightsWorking = String(this.flightsWorking);
    d.shading = this.shading;
    d.coverageAsOf = timestampIso(this.coverageAsOf);
    d.coverageMs = this.coverageMs.toFixed(2);
    d.occupancySectors = String(this.occupancySectors);
    d.occupancyFlights = String(this.occupancyFlights);
    d.occupancyCycle = String(this.occupancyCycle);
    d.occupancyFeedTime = timestampIso(this.occupancyFeedTime);

    const label: Record<Freshness, string> = {
      connecting: "connecting…",
      ok: "live",
      degraded: "degraded",
      stale: "STALE",
      standby: "standby",
      disconnected: "reconnecting…",
    };
    const why = fresh === "stale" && this.serverReason ? ` (${this.serverReason})` : fresh === "degraded" ? ` (${this.serverReason})` : "";
    const parts = [
      el("span", { class: `badge ${fresh}` }, label[fresh]),
      ` feed time ${clockTime(this.feedTime)}${why}`,
      ` · ${formatCount(this.flightsDrawn)} flights (${formatCount(this.flightsWorking)} in contact) · ${formatCount(this.sectorsDrawn)} sectors`,
    ];
    if (this.error) parts.push(el("span", { class: "error" }, ` · ${this.error}`));
    this.node.replaceChildren(...parts);
  }
}

/** The colour key of the map, in the top bar: the sector shading shown, staffing, and the flights' dots. */
export function renderLegend(node: HTMLElement, shading: Shading): void {
  const swatch = (style: string) => el("i", { style });
  const dot = (style: string) => el("i", { class: "dot", style });
  const items: (Node | string)[] = [];
  if (shading === "coverage") {
    items.push("occupants in contact: ");
    for (const s of coverageSteps) items.push(swatch(`background:${s.color}`), `${s.label} `);
  } else {
    items.push("flights in sector: ");
    occupancySteps.forEach((s, i) => {
      const next = occupancySteps[i + 1];
      items.push(swatch(`background:${s.color}`), next ? `${s.from}${next.from - 1 > s.from ? `–${next.from - 1}` : ""} ` : `${s.from}+ `);
    });
  }
  items.push(" ", swatch(`border:2px solid ${staffedColor};background:transparent`), "staffed");
  // The bar is as dark as the dots: filled and hollow in the bar's light text colour.
  items.push(" ", dot("background:currentColor"), "in contact", dot("background:transparent"), "no contact");
  node.dataset.shading = shading;
  node.replaceChildren(...items);
}
