// The side panel: a sector's controllers (each with its session's radio figures and the flights working it
// now), occupants, hourly traffic and staffing profile, or a flight's summary with whom it talks to. Each
// part loads on its own, so a slow statistic does not hold the occupants back; a newer selection discards
// the answers of an older one.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { api, errorMessage } from "./api";
import { el, formatCount } from "./dom";
import type { SectorProperties } from "./geometry";
import { ControllerKind, type Controller, type ControllerSession } from "./gen/vatsector/v1/controller_service_pb";
import type { LiveFlight, RadioCoverage } from "./gen/vatsector/v1/flight_service_pb";
import { TrafficBucket } from "./gen/vatsector/v1/stats_service_pb";
import type { SectorState } from "./occupancy";
import { staffingGrid } from "./staffingGrid";
import { clockTime, dateTime, durationText, timestampMillis } from "./time";
import { trafficChart } from "./trafficChart";

export interface PanelContext {
  /** Feed time of the newest committed cycle: the traffic chart's 24 hours end there (a replay is in the past). */
  feedTime: () => Timestamp | undefined;
  stateOf: (name: string) => SectorState | undefined;
  onFlight: (id: bigint) => void;
  onClose: () => void;
  /** The flight as of the latest WatchFlights message; undefined when it is not online. */
  liveFlight: (id: bigint) => LiveFlight | undefined;
  /** The live flights in contact with this controller connection now, by callsign. */
  workingFlights: (controllerId: bigint) => LiveFlight[];
}

const occupantsShown = 200;

export class Panel {
  private generation = 0;
  private sector: SectorProperties | undefined;
  private occupantsBox: HTMLElement | undefined;
  private flightId: bigint | undefined;

  constructor(private readonly root: HTMLElement, private readonly ctx: PanelContext) {}

  get openSector(): string | undefined {
    return this.sector?.name;
  }

  close(): void {
    this.generation++;
    this.sector = undefined;
    this.flightId = undefined;
    this.root.hidden = true;
    this.root.replaceChildren();
    delete this.root.dataset.sector;
    delete this.root.dataset.flight;
    this.ctx.onClose();
  }

  showSector(sector: SectorProperties, alsoHere: SectorProperties[], onPick: (s: SectorProperties) => void): void {
    const gen = ++this.generation;
    this.sector = sector;
    this.flightId = undefined;
    this.root.hidden = false;
    this.root.dataset.kind = "sector";
    this.root.dataset.sector = sector.name;
    delete this.root.dataset.flight;

    const state = this.ctx.stateOf(sector.name);
    const band = sector.floor_ft !== null || sector.ceiling_ft !== null
      ? ` · ${sector.floor_ft ?? "SFC"}–${sector.ceiling_ft ?? "UNL"} ft`
      : "";
    this.occupantsBox = el("div", {}, "loading…");
    const controllers = el("div", {}, "loading…");
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
      el("h3", {}, "Controllers"),
      controllers,
      el("h3", {}, "Flights inside"),
      this.occupantsBox,
      el("h3", {}, "Traffic, last 24 hours (UTC)"),
      traffic,
      el("h3", {}, "Staffing profile, last 8 weeks (UTC)"),
      staffing,
    );
    void this.loadOccupants(gen, sector.name);
    void this.load(gen, controllers, () => this.controllersOf(gen, sector.name));
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

  /**
   * Follows a new WatchFlights message: the flights working each controller listed, and whom the open flight
   * talks to.
   */
  flightsUpdated(): void {
    for (const d of this.root.querySelectorAll<HTMLDetailsElement>(".controllers details")) {
      this.renderWorking(d, BigInt(d.dataset.controllerId!));
    }
    const talking = this.root.querySelector<HTMLElement>(".talking-to");
    if (talking && this.flightId !== undefined) this.renderTalkingTo(talking, this.flightId);
  }

  /** The controllers staffing the sector now, each expandable to its session's radio figures. */
  private async controllersOf(gen: number, name: string): Promise<HTMLElement> {
    const res = await api.controllers.listControllers({ sectorId: name, kinds: [ControllerKind.CONTROLLER], pageSize: 100 });
    const list = el("ul", { class: "controllers", "data-count": String(res.controllers.length) });
    for (const c of res.controllers) list.append(el("li", {}, this.controllerItem(gen, c)));
    return res.controllers.length ? list : el("div", { class: "controllers", "data-count": "0" }, "none online");
  }

  private controllerItem(gen: number, c: Controller): HTMLElement {
    const figures = el("div", { class: "radio-figures" }, "loading…");
    const d = el("details", { "data-controller-id": String(c.id), "data-callsign": c.callsign },
      el("summary", {}, el("span", { class: "callsign" }, c.callsign), " ", el("span", { class: "sub summary-text" })),
      figures,
      el("div", { class: "sub" }, "Working it now:"),
      el("div", { class: "working-now" }));
    this.renderWorking(d, c.id, c.frequency);
    let loaded = false;
    d.addEventListener("toggle", () => {
      if (!d.open || loaded) return;
      loaded = true;
      void this.load(gen, figures, async () => radioFigures(await sessionOf(c)));
    });
    return d;
  }

  private renderWorking(d: HTMLElement, controllerId: bigint, frequency?: string): void {
    const flights = this.ctx.workingFlights(controllerId);
    if (frequency !== undefined) d.dataset.frequency = frequency;
    const summary = d.querySelector(".summary-text");
    if (summary) summary.textContent = `${d.dataset.frequency ? `${d.dataset.frequency} · ` : ""}${formatCount(flights.length)} on frequency now`;
    const box = d.querySelector<HTMLElement>(".working-now");
    if (!box) return;
    box.dataset.count = String(flights.length);
    box.replaceChildren(...(flights.length ? flights.map((f) => {
      const link = el("a", { href: "#", "data-flight": String(f.id) }, f.callsign);
      link.addEventListener("click", (e) => { e.preventDefault(); this.ctx.onFlight(f.id); });
      return link;
    }) : ["none"]));
  }

  private renderTalkingTo(node: HTMLElement, id: bigint): void {
    const live = this.ctx.liveFlight(id);
    const w = live?.working;
    node.dataset.controller = w?.callsign ?? "";
    node.dataset.controllerId = w ? String(w.id) : "";
    node.className = w ? "talking-to" : "talking-to none";
    node.textContent = w ? w.callsign : live ? "nobody" : "— (not online)";
  }

  showFlight(id: bigint): void {
    const gen = ++this.generation;
    this.sector = undefined;
    this.flightId = id;
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
      const talkingTo = el("span", { class: "talking-to" });
      this.renderTalkingTo(talkingTo, id);
      const rows: [string, string | HTMLElement][] = [
        ["Route", plan ? `${plan.departure || "?"} → ${plan.arrival || "?"}` : "no flight plan"],
        ["Aircraft", plan?.aircraftShort || "—"],
        ["Altitude", pos ? `${formatCount(pos.altitudeFt)} ft` : "—"],
        ["Ground speed", pos ? `${pos.groundspeedKt} kt` : "—"],
        ["Online", `${durationText(summary.onlineDuration)}${flight.online ? "" : " (offline)"}`],
        ["Talking to now", talkingTo],
        ["Airborne", durationText(summary.airborne)],
        ["Distance flown", `${formatCount(Math.round(summary.distanceNm))} NM`],
        ["Highest altitude", summary.highestAltitudeFt !== undefined ? `${formatCount(summary.highestAltitudeFt)} ft` : "—"],
        ["First seen", dateTime(summary.firstSeen)],
      ];
      const visits = el("ol", { class: "visits" }, ...summary.visits.map((v) =>
        el("li", {}, `${v.visit?.sectorId ?? "?"} `, el("span", { class: "sub" }, `${durationText(v.duration)}${v.open ? " (inside)" : ""}`))));
      return el("div", { class: "flight-summary" },
        el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        el("h3", {}, "Radio coverage"),
        coverageBox(summary.coverage),
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

/**
 * The session of one controller connection: ListControllerSessions by its callsign, the session whose
 * controller has the connection's id (one per connection; others of the callsign are earlier connections).
 */
async function sessionOf(c: Controller): Promise<ControllerSession | undefined> {
  let pageToken = "";
  for (let page = 0; page < 20; page++) {
    const res = await api.controllers.listControllerSessions({ callsignPrefix: c.callsign, pageSize: 1000, pageToken });
    const s = res.sessions.find((s) => s.controller?.id === c.id);
    if (s || !res.nextPageToken) return s;
    pageToken = res.nextPageToken;
  }
  return undefined;
}

/** A controller session's figures: what its sectors held, and the traffic on its frequency. */
function radioFigures(s: ControllerSession | undefined): HTMLElement {
  if (!s) return el("p", { class: "sub" }, "no session found");
  const r = s.radio;
  const rows: [string, string][] = [
    ["Session", `${durationText(s.duration)}${s.online ? " (online)" : " (ended)"}`],
    ["Flights in its sectors", `${formatCount(s.distinctFlights)}, peak ${formatCount(s.peakSimultaneousFlights)}`],
  ];
  if (r) {
    rows.push(
      ["Aircraft worked", formatCount(r.distinctAircraft)],
      ["Peak simultaneous", `${formatCount(r.peakSimultaneous)}${r.peakAt ? ` at ${clockTime(r.peakAt)}` : ""}`],
      ["Mean simultaneous", `${r.meanSimultaneous.toFixed(2)} (time-weighted)`],
      ["Coverage known", durationText(r.known)],
    );
  } else {
    rows.push(["On frequency", "unknown (no transceivers data for the session)"]);
  }
  const attrs: Record<string, string> = { "data-session-online": String(s.online) };
  if (r) {
    attrs["data-distinct-aircraft"] = String(r.distinctAircraft);
    attrs["data-peak-simultaneous"] = String(r.peakSimultaneous);
    attrs["data-mean-simultaneous"] = String(r.meanSimultaneous);
  }
  return el("div", { class: "radio-loaded", ...attrs }, el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
}

/** A flight's on-frequency shares and its contacts, in order. */
function coverageBox(c: RadioCoverage | undefined): HTMLElement {
  if (!c) return el("p", { class: "coverage sub", "data-known": "false" }, "unknown (no transceivers data for its positions)");
  const pct = (share: number) => `${Math.round(share * 100)}%`;
  const contacts = el("ol", { class: "contacts" }, ...c.contacts.map((k) =>
    el("li", { "data-callsign": k.controller?.callsign ?? "", "data-controller-id": String(k.controller?.id ?? 0n) },
      el("strong", {}, k.controller?.callsign ?? "?"), " ",
      el("span", { class: "sub" }, `${clockTime(k.start).replace("Z", "")}–${clockTime(k.end)} · ${durationText(k.duration)}`))));
  return el("div", {
    class: "coverage",
    "data-known": "true",
    "data-on-frequency-share": String(c.onFrequencyShare),
    "data-airborne-on-frequency-share": String(c.airborneOnFrequencyShare),
    "data-contacts": String(c.contacts.length),
  },
  el("dl", {},
    el("dt", {}, "On frequency"), el("dd", {}, `${pct(c.onFrequencyShare)} of ${durationText(c.known)} known`),
    el("dt", {}, "Airborne"), el("dd", {}, Number(c.airborneKnown?.seconds ?? 0n) > 0
      ? `${pct(c.airborneOnFrequencyShare)} of ${durationText(c.airborneKnown)} known`
      : "not airborne while known")),
  el("div", { class: "sub" }, "Contacts:"),
  c.contacts.length ? contacts : el("p", {}, "none"));
}

/** "FL350" at and above the usual transition level, "4,500 ft" below: short enough for two columns. */
function altitudeText(ft: number): string {
  return ft >= 18_000 ? `FL${String(Math.round(ft / 100)).padStart(3, "0")}` : `${formatCount(ft)} ft`;
}
