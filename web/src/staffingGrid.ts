// A sector's weekly staffing profile (StatsService.GetStaffingProfile) as a weekday × UTC hour grid: the
// darker the cell, the more of that hour the sector was staffed.
import type { StaffingCell } from "./gen/vatsector/v1/stats_service_pb";
import { el } from "./dom";

const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function staffingGrid(cells: StaffingCell[]): HTMLElement {
  const byKey = new Map(cells.map((c) => [`${c.weekday}/${c.hour}`, c]));
  const head = el("tr", {}, el("th"));
  for (let h = 0; h < 24; h++) head.append(el("th", {}, h % 6 === 0 ? String(h).padStart(2, "0") : ""));
  const table = el("table", { class: "staffing-grid", "data-cells": String(cells.length) }, head);
  weekdays.forEach((day, d) => {
    const row = el("tr", {}, el("th", {}, day));
    for (let h = 0; h < 24; h++) {
      const c = byKey.get(`${d}/${h}`);
      const staffed = c?.staffedFraction ?? 0;
      const observed = c?.observedFraction ?? 0;
      const td = el("td");
      // Hours never observed are hatched, not white: "no data" is not "never staffed".
      if (observed === 0) td.className = "unobserved";
      else td.style.background = `rgba(0, 179, 90, ${(0.08 + 0.92 * staffed).toFixed(2)})`;
      td.title = c
        ? `${day} ${String(h).padStart(2, "0")}Z: staffed ${(staffed * 100).toFixed(0)}%, ` +
          `mean ${c.meanOccupancy.toFixed(1)} flights, peak ${c.peakOccupancy}, observed ${(observed * 100).toFixed(0)}%`
        : "";
      row.append(td);
    }
    table.append(row);
  });
  return table;
}
