// Every online flight drawn on one canvas of its own, redrawn whole when the flights or the view change:
// 3,000 flights are two paths filled once, where 3,000 markers would be 3,000 DOM nodes or Leaflet layers.
// A flight in contact with a controller (LiveFlight.working) is a filled dot, one not in contact a hollow one.
import L from "leaflet";
import type { LiveFlight } from "./gen/vatsector/v1/flight_service_pb";

const radiusPx = 2.2;
const headingTickPx = 6;
const flightColor = "#14213d";

export class FlightsLayer extends L.Layer {
  private canvas: HTMLCanvasElement | undefined;
  private flights: LiveFlight[] = [];
  private selectedId: bigint | undefined;
  private workingCount = 0;

  setFlights(flights: LiveFlight[]): void {
    this.flights = flights;
    this.workingCount = 0;
    for (const f of flights) if (f.working) this.workingCount++;
    this.redraw();
  }

  /** The flights drawn as in contact with a controller (filled), in view or not. */
  get working(): number {
    return this.workingCount;
  }

  get count(): number {
    return this.flights.length;
  }

  select(id: bigint | undefined): void {
    this.selectedId = id;
    this.redraw();
  }

  /** The flight drawn nearest a point of the map's container, within a few pixels, for clicks. */
  nearest(point: L.Point, maxPx = 6): LiveFlight | undefined {
    if (!this._map) return undefined;
    let best: LiveFlight | undefined;
    let bestDistance = maxPx * maxPx;
    for (const f of this.flights) {
      const p = this._map.latLngToContainerPoint([f.latitude, f.longitude]);
      const d = (p.x - point.x) ** 2 + (p.y - point.y) ** 2;
      if (d <= bestDistance) {
        best = f;
        bestDistance = d;
      }
    }
    return best;
  }

  onAdd(map: L.Map): this {
    const pane = map.getPane("flights") ?? map.createPane("flights");
    this.canvas = L.DomUtil.create("canvas", "flights-layer", pane);
    map.on("moveend zoomend resize viewreset", this.redraw, this);
    // During the zoom animation the drawing would be at the old scale: hide it until zoomend redraws it.
    map.on("zoomstart", this.hide, this);
    this.redraw();
    return this;
  }

  onRemove(map: L.Map): this {
    map.off("moveend zoomend resize viewreset", this.redraw, this);
    map.off("zoomstart", this.hide, this);
    this.canvas?.remove();
    this.canvas = undefined;
    return this;
  }

  private hide(): void {
    if (this.canvas) this.canvas.style.visibility = "hidden";
  }

  redraw(): void {
    const map = this._map;
    const canvas = this.canvas;
    if (!map || !canvas) return;
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(size.x * ratio);
    canvas.height = Math.round(size.y * ratio);
    canvas.style.width = `${size.x}px`;
    canvas.style.height = `${size.y}px`;
    canvas.style.visibility = "visible";
    // The pane moves with the map while it is dragged; keep the canvas at the container's top left.
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);

    const dots = new Path2D();
    const rings = new Path2D();
    const ticks = new Path2D();
    let selected: L.Point | undefined;
    for (const f of this.flights) {
      const p = map.latLngToContainerPoint([f.latitude, f.longitude]);
      if (p.x < -10 || p.y < -10 || p.x > size.x + 10 || p.y > size.y + 10) continue;
      const path = f.working ? dots : rings;
      path.moveTo(p.x + radiusPx, p.y);
      path.arc(p.x, p.y, radiusPx, 0, 2 * Math.PI);
      const rad = (f.headingDeg * Math.PI) / 180;
      ticks.moveTo(p.x, p.y);
      ticks.lineTo(p.x + Math.sin(rad) * headingTickPx, p.y - Math.cos(rad) * headingTickPx);
      if (f.id === this.selectedId) selected = p;
    }
    ctx.strokeStyle = "rgba(20, 33, 61, 0.7)";
    ctx.lineWidth = 1;
    ctx.stroke(ticks);
    ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
    ctx.fill(rings);
    ctx.strokeStyle = flightColor;
    ctx.lineWidth = 1.2;
    ctx.stroke(rings);
    ctx.fillStyle = flightColor;
    ctx.fill(dots);
    if (selected) {
      ctx.beginPath();
      ctx.arc(selected.x, selected.y, 6, 0, 2 * Math.PI);
      ctx.strokeStyle = "#1f6feb";
      ctx.lineWidth = 2.5;
      ctx.stroke();
    }
  }
}
