// Times as the API sends them (google.protobuf.Timestamp / Duration) turned into what the page shows.
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";

/**
 * RFC 3339 in UTC with every digit the timestamp carries (feed times have microseconds), so a test can
 * compare the time the page shows with the API's exactly; Date's toISOString would cut to milliseconds.
 */
export function timestampIso(ts: Timestamp | undefined): string {
  if (!ts) return "";
  const seconds = Number(ts.seconds);
  const base = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "");
  if (ts.nanos === 0) return base + "Z";
  const fraction = String(ts.nanos).padStart(9, "0").replace(/0+$/, "");
  return `${base}.${fraction}Z`;
}

export function timestampMillis(ts: Timestamp | undefined): number {
  if (!ts) return NaN;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** "12:34:56Z": the time of day of a feed time, which is what changes from one cycle to the next. */
export function clockTime(ts: Timestamp | undefined): string {
  if (!ts) return "—";
  return new Date(timestampMillis(ts)).toISOString().slice(11, 19) + "Z";
}

/** "2024-02-20 23:19Z". */
export function dateTime(ts: Timestamp | undefined): string {
  if (!ts) return "—";
  return new Date(timestampMillis(ts)).toISOString().slice(0, 16).replace("T", " ") + "Z";
}

/** "1 h 05 min", "3 min", "40 s". */
export function durationText(d: Duration | undefined): string {
  if (!d) return "—";
  const total = Number(d.seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min`;
  return `${total} s`;
}

export function durationMs(d: Duration | undefined): number {
  if (!d) return 0;
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}
