package airspace

import (
	"context"
	"time"
)

// Holder is where the current airspace lives while it is used: ingest reads it once a cycle, the API on every
// request, and Follow swaps in a new release.
type Holder interface {
	Airspace() *Airspace
	Swap(*Airspace)
}

// LoadVATSpyAirspace loads a VATSpy folder as an airspace of one set.
func LoadVATSpyAirspace(dir string) (*Airspace, error) {
	set, err := LoadVATSpy(dir)
	if err != nil {
		return nil, err
	}
	return New(set)
}

// Load loads the current release into h when it is new, or when h holds none yet, and reports whether h holds
// an airspace afterwards. A release that does not load leaves h as it is. Without data the service still runs
// — it ingests flights, with no sector to put them in — so a failure is logged, not returned.
func (m *MapData) Load(ctx context.Context, h Holder) bool {
	log := m.logger()
	dir, changed, err := m.Ensure(ctx)
	if err != nil {
		log.Error("no sector data yet; retrying every minute", "err", err)
		return h.Airspace() != nil
	}
	if !changed && h.Airspace() != nil {
		return true
	}
	a, err := LoadVATSpyAirspace(dir)
	if err != nil {
		log.Error("VATSpy data does not load; keeping the current sectors", "dir", dir, "err", err)
		return h.Airspace() != nil
	}
	h.Swap(a)
	log.Info("VATSpy sectors loaded", "sectors", len(a.Sectors()), "dir", dir)
	return true
}

// Follow keeps h on the current release until ctx ends: it asks every `every`, or every minute while h holds
// no sector at all.
func (m *MapData) Follow(ctx context.Context, h Holder, every time.Duration) {
	for {
		wait := every
		if a := h.Airspace(); a == nil || len(a.Sectors()) == 0 {
			wait = time.Minute
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		m.Load(ctx, h)
	}
}
