package server

import (
	"context"
	"strings"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/repository"
)

func (q *queryService) listControllers(ctx context.Context, f repository.ControllerFilter, size int32, token string) (
	[]domain.Controller, string, error,
) {
	f.Kinds = canonicalSet(f.Kinds)
	fp := fingerprint("ListControllers", f.Kinds, strings.ToUpper(f.CallsignPrefix), f.SectorID)
	return keysetPage(token, fp, size, func(c domain.Controller) (string, int64) { return c.Callsign, c.ID },
		func(after *repository.Key, limit int) ([]domain.Controller, error) {
			return q.store.ListOnlineControllers(ctx, f, after, limit)
		})
}
