package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vatsector/vatsector/domain"
)

type metrics struct {
	cycles       *prometheus.CounterVec
	skipped      prometheus.Counter
	feedErrors   prometheus.Counter
	decodeErrors prometheus.Counter
	// transceivers counts the cycles by what their transceivers file was: paired, none (the source has none
	// for the snapshot, or only a stale one) or failed (fetch or decode error). Both of the last leave the
	// cycle's radio coverage unknown.
	transceivers *prometheus.CounterVec
	phase        *prometheus.HistogramVec
	statements   prometheus.Histogram
	rows         *prometheus.CounterVec
	lastUpdate   prometheus.Gauge
	checkpoint   prometheus.Histogram
	writer       prometheus.Gauge
	backlog      prometheus.Gauge
	refused      prometheus.Counter
	dropped      prometheus.Counter
	givenUp      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vatsector_ingest_cycles_total", Help: "Ingest cycles by result (committed, failed).",
		}, []string{"result"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vatsector_ingest_skipped_total", Help: "Snapshots skipped because their update_timestamp was already ingested.",
		}),
		feedErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vatsector_ingest_feed_errors_total", Help: "Fetches that failed after their retries.",
		}),
		decodeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vatsector_ingest_decode_errors_total", Help: "Snapshots rejected as malformed.",
		}),
		transceivers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vatsector_ingest_transceivers_total", Help: "Snapshots by their transceivers file: paired, none (missing or stale) or failed; without one a cycle's radio coverage is unknown.",
		}, []string{"result"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vatsector_ingest_phase_seconds", Help: "Duration of each phase of a committed cycle.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"phase"}),
		statements: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vatsector_ingest_statements", Help: "Statements executed per committed cycle.",
			Buckets: []float64{2, 4, 6, 8, 10, 15, 20, 30, 50, 100},
		}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vatsector_ingest_rows_total", Help: "Rows written by committed cycles, by table.",
		}, []string{"table"}),
		lastUpdate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vatsector_ingest_last_update_timestamp_seconds", Help: "Feed update_timestamp of the last committed cycle.",
		}),
		checkpoint: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vatsector_ingest_checkpoint_seconds",
			Help:    "SQLite write-ahead log checkpoint after each committed cycle's publish (not part of the cycle).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		writer: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vatsector_ingest_writer", Help: "1 while this instance is the database's ingest writer, 0 while it waits (standby) or after it stopped.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vatsector_ingest_backlog", Help: "Snapshots fetched and waiting to be written (the database is failing).",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vatsector_ingest_refused_total", Help: "Snapshots refused because their update_timestamp is too far past the clock.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vatsector_ingest_dropped_total", Help: "Snapshots lost because the backlog was full.",
		}),
		givenUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vatsector_ingest_given_up_total", Help: "Snapshots given up after the database refused them repeatedly while answering.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.cycles, m.skipped, m.feedErrors, m.decodeErrors, m.transceivers, m.phase, m.statements, m.rows, m.lastUpdate, m.checkpoint, m.writer, m.backlog, m.refused, m.dropped, m.givenUp} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(c *domain.Cycle) {
	m.cycles.WithLabelValues("committed").Inc()
	for phase, us := range map[string]int64{
		"decode": c.DecodeUS, "classify": c.ClassifyUS, "diff": c.DiffUS, "write": c.WriteUS,
		"commit": c.CommitUS, "total": c.TotalUS,
	} {
		m.phase.WithLabelValues(phase).Observe(float64(us) / 1e6)
	}
	m.statements.Observe(float64(c.Statements))
	for table, n := range map[string]int{
		"flights": c.FlightsWritten, "flight_plans": c.FlightPlansWritten, "positions": c.PositionsWritten,
		"visits_opened": c.VisitsOpened, "visits_closed": c.VisitsClosed, "events": c.EventsWritten,
		"controllers": c.ControllersWritten,
	} {
		m.rows.WithLabelValues(table).Add(float64(n))
	}
	m.lastUpdate.Set(float64(c.UpdateTimestamp.UnixMilli()) / 1000)
}
