// Every online flight drawn on one canvas of its own, redrawn whole when the flights or the view change:
// 3,000 flights are one path filled once, where 3,000 markers would be 3,000 DOM nodes or Leaflet layers.
import L from "leaflet";
import type { LiveFlight } from "./gen/vatsector/v1/flight_service_pb";

const radiusPx = 2.2;
const headingTickPx = 6;

export class FlightsLayer extends L.Layer {
  private canvas: HTMLCanvasElement | undefined;
  private flights: LiveFlight[] = [];
  private selectedId: bigint | undefined;

  setFlights(flights: LiveFlight[]): void {
    this.flights = flights;
    this.redraw();
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
    const ticks = new Path2D();
    let selected: L.Point | undefined;
    for (const f of this.flights) {
      const p = map.latLngToContainerPoint([f.latitude, f.longitude]);
      if (p.x < -10 || p.y < -10 || p.x > size.x + 10 || p.y > size.y + 10) continue;
      dots.moveTo(p.x + radiusPx, p.y);
      dots.arc(p.x, p.y, radiusPx, 0, 2 * Math.PI);
      const rad = (f.headingDeg * Math.PI) / 180;
      ticks.moveTo(p.x, p.y);
      ticks.lineTo(p.x + Math.sin(rad) * headingTickPx, p.y - Math.cos(rad) * headingTickPx);
      if (f.id === this.selectedId) selected = p;
    }
    ctx.strokeStyle = "rgba(20, 33, 61, 0.7)";
    ctx.lineWidth = 1;
    ctx.stroke(ticks);
    ctx.fillStyle = "#14213d";
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
