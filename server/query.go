package server

import (
	"slices"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/hub"
)

// queryService is the service layer between the gRPC handlers and the storage, in the manner of Jaeger's
// querysvc: it speaks the domain (repository rows, loaded sectors, domain errors), resolves page sizes and
// tokens, and combines storage with the loaded sectors, the ingestion status and the hub. Handlers only
// convert messages and map errors.
type queryService struct {
	store   Storage
	sectors SectorsProvider
	status  StatusSource
	hub     *hub.Hub
	now     func() time.Time

	pollInterval time.Duration
	heartbeat    time.Duration
	replayPage   int
	// catchUp bounds the streams' stored-event reads running at once; nil: no bound.
	catchUp *catchUpGate
	// geometry holds the sectors' encoded GeoJSON features.
	geometry geometryCache
}

// canonicalSet sorts and deduplicates a filter set, so the same set in another order is the same filter.
func canonicalSet[T ~string](s []T) []T {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// canonicalRefs is canonicalSet for sectors.
func canonicalRefs(refs []domain.SectorRef) []domain.SectorRef {
	out := slices.Clone(refs)
	slices.SortFunc(out, domain.SectorRef.Compare)
	return slices.Compact(out)
}

// unixMicro is a filter bound as a fingerprint part; the zero time (an open bound) is 0.
func unixMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
