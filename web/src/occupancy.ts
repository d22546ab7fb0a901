// The occupancy and staffing of every sector, kept from WatchSectorOccupancy: a snapshot replaces the whole
// state (the first message, and a resync after the stream fell behind), an update changes the sectors it
// names.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { WatchSectorOccupancyResponse } from "./gen/vatsector/v1/sector_service_pb";

export interface SectorState {
  flightCount: number;
  staffed: boolean;
  /** Callsigns as of the last snapshot: updates only say whether a sector is staffed, not by whom. */
  staffedBy: string[];
}

export class OccupancyState {
  readonly sectors = new Map<string, SectorState>();
  cycleId = 0n;
  feedTime: Timestamp | undefined;

  /** Applies one stream message; returns the names of the sectors whose state changed (all on a snapshot). */
  apply(msg: WatchSectorOccupancyResponse): { changed: string[]; replaced: boolean } {
    const p = msg.payload;
    switch (p.case) {
      case "snapshot": {
        this.sectors.clear();
        for (const s of p.value.sectors) {
          this.sectors.set(s.sector, {
            flightCount: s.flightCount,
            staffed: s.staffedBy.length > 0,
            staffedBy: s.staffedBy.map((c) => c.callsign),
          });
        }
        this.cycleId = p.value.cycleId;
        this.feedTime = p.value.feedTime;
        return { changed: [...this.sectors.keys()], replaced: true };
      }
      case "update": {
        const changed: string[] = [];
        for (const c of p.value.changes) {
          changed.push(c.sector);
          if (c.removed) {
            this.sectors.delete(c.sector);
            continue;
          }
          const before = this.sectors.get(c.sector);
          let staffedBy = before?.staffedBy ?? [];
          if (c.staffingChanged) staffedBy = c.staffed && c.controller ? [c.controller.callsign] : [];
          this.sectors.set(c.sector, { flightCount: c.flightCount, staffed: c.staffed, staffedBy });
        }
        this.cycleId = p.value.cycleId;
        this.feedTime = p.value.feedTime;
        return { changed, replaced: false };
      }
      default:
        return { changed: [], replaced: false }; // heartbeat: nothing changed
    }
  }

  /** Flights inside sectors, summed over sectors: a flight in a FIR and its sub-sector counts twice. */
  totalFlightCount(): number {
    let sum = 0;
    for (const s of this.sectors.values()) sum += s.flightCount;
    return sum;
  }
}
