package server

import (
	"context"
	"strings"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/repository"
)

func (q *queryService) listControllerSessions(ctx context.Context, sector string, f repository.SessionFilter, size int32, token string) (
	[]domain.ControllerSession, string, error,
) {
	if sector != "" {
		var err error
		if f.Sector, _, err = q.resolveSector("sector_id", sector); err != nil {
			return nil, "", err
		}
	}
	fp := fingerprint("ListControllerSessions", strings.ToUpper(f.CallsignPrefix), f.Sector, unixMicro(f.SeenFrom), unixMicro(f.SeenUntil))
	return keysetPage(token, fp, size, func(s domain.ControllerSession) (string, int64) { return s.Controller.Callsign, s.Controller.ID },
		func(after *repository.Key, limit int) ([]domain.ControllerSession, error) {
			return q.store.ListControllerSessions(ctx, f, after, limit)
		})
}

func (q *queryService) listControllers(ctx context.Context, sector string, f repository.ControllerFilter, size int32, token string) (
	[]domain.Controller, string, error,
) {
	if sector != "" {
		var err error
		if f.Sector, _, err = q.resolveSector("sector_id", sector); err != nil {
			return nil, "", err
		}
	}
	f.Kinds = canonicalSet(f.Kinds)
	fp := fingerprint("ListControllers", f.Kinds, strings.ToUpper(f.CallsignPrefix), f.Sector)
	return keysetPage(token, fp, size, func(c domain.Controller) (string, int64) { return c.Callsign, c.ID },
		func(after *repository.Key, limit int) ([]domain.Controller, error) {
			return q.store.ListOnlineControllers(ctx, f, after, limit)
		})
}
