// The page's API clients: Connect protocol over fetch against the origin that served the page, so the page
// works wherever the service's HTTP port is (directly, or behind a proxy under a path prefix).
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ControllerService } from "./gen/vatsector/v1/controller_service_pb";
import { FlightService } from "./gen/vatsector/v1/flight_service_pb";
import { IngestService } from "./gen/vatsector/v1/ingest_service_pb";
import { SectorService } from "./gen/vatsector/v1/sector_service_pb";
import { StatsService } from "./gen/vatsector/v1/stats_service_pb";

/** The page's own directory URL, without a trailing slash: the API is served beside the page. */
export const apiBase = new URL(".", window.location.href).href.replace(/\/$/, "");

// Binary, not JSON: a WatchFlights message holds every online flight each cycle (3,000 at peak), about 60
// bytes each in binary and several times that in JSON.
const transport = createConnectTransport({ baseUrl: apiBase, useBinaryFormat: true });

export interface Clients {
  sectors: Client<typeof SectorService>;
  flights: Client<typeof FlightService>;
  controllers: Client<typeof ControllerService>;
  ingest: Client<typeof IngestService>;
  stats: Client<typeof StatsService>;
}

export const api: Clients = {
  sectors: createClient(SectorService, transport),
  flights: createClient(FlightService, transport),
  controllers: createClient(ControllerService, transport),
  ingest: createClient(IngestService, transport),
  stats: createClient(StatsService, transport),
};

/** The message of any error an API call threw, for the page to show. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
