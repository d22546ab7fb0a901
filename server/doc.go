// Package server serves the vatsector API over gRPC: IngestService, FlightService, SectorService and
// ControllerService (proto/vatsector/v1), with gRPC health and reflection.
//
// # Layers
//
// Handlers (handler_*.go) convert messages to the domain and back and map errors; the service layer
// (query*.go, watch_*.go) resolves pages and tokens and combines the storage (the repository's reads), the
// loaded sectors, the ingestion status and the Hub; errors.go alone turns domain errors into status codes.
// Requests are validated by an interceptor (validate.go) before a handler runs.
//
// # Streams
//
// The hub (package hub) is ingest's Publisher: every committed cycle is handed to it once and fanned out to the
// streams without ever blocking ingest. The hub knows no transport: the server adapts it, as etcd's v3rpc
// adapts the MVCC watchable store. It has the hub prepare each cycle's shared encodings (stream_encoding.go),
// and errors.go tells clients what the hub's refusals mean. See package hub and watch_events.go for how a
// stream resumes and catches up without a gap or a duplicate.
//
// # Start and shutdown
//
// main starts in this order:
//
//	events := hub.New(hub.Config{})
//	srv, err := server.New(server.Config{Store: store, Status: runner, Sectors: sectors, Hub: events, ...})
//	// (after store.Migrate) and before ingest runs, so that the hub starts from the stored position:
//	err = srv.Ready(ctx)            // ping, seed the hub, health SERVING
//	go runner.Run(ingestCtx)        // ingest.Config{Publisher: events, ...}
//	go srv.Serve(lis)
//
// and stops in this order:
//
//	srv.Drain()                     // health NOT_SERVING: no new work is routed here
//	stopIngest(); <-ingestDone      // ingest finishes the cycle in flight, which the hub still publishes
//	srv.Shutdown(graceCtx)          // streams end with UNAVAILABLE; GracefulStop until the deadline, then Stop
//	store.Close()                   // no RPC uses the pool any more
package server
