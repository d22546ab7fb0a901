// A sector's hourly traffic over the last 24 hours (StatsService.GetSectorTraffic, HOUR buckets).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { TrafficStats } from "./gen/vatsector/v1/stats_service_pb";
import { el } from "./dom";

export function trafficChart(buckets: TrafficStats[], width: number): HTMLElement {
  const box = el("div", { class: "traffic-chart", "data-buckets": String(buckets.length) });
  if (buckets.length === 0) {
    box.append("no hours recorded");
    return box;
  }
  const x = buckets.map((b) => Number(b.start?.seconds ?? 0n));
  const data: uPlot.AlignedData = [
    x,
    buckets.map((b) => b.flights),
    buckets.map((b) => b.peak),
    buckets.map((b) => Math.round(b.meanOccupancy * 10) / 10),
  ];
  const opts: uPlot.Options = {
    width,
    height: 150,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"), // hours are UTC hours
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    // "13:00", not "1pm": UTC hours, as the rest of the page and VATSIM write them.
    axes: [{ size: 30, values: (_u, splits) => splits.map((t) => new Date(t * 1000).toISOString().slice(11, 16)) }, { size: 36 }],
    series: [
      { label: "UTC hour" },
      { label: "flights", stroke: "#fd8d3c", fill: "rgba(253,141,60,0.25)", paths: uPlot.paths.bars!({ size: [0.8, 40] }) },
      { label: "peak", stroke: "#bd0026", width: 1.5 },
      { label: "mean", stroke: "#1f6feb", width: 1.5 },
    ],
  };
  new uPlot(opts, data, box);
  return box;
}
