package server

import (
	"context"
	"strings"

	"github.com/vatsector/vatsector/repository"
)

func (q *queryService) listControllers(ctx context.Context, f repository.ControllerFilter, size int32, token string) (
	[]repository.Controller, string, error,
) {
	f.Kinds = canonicalSet(f.Kinds)
	fp := fingerprint("ListControllers", f.Kinds, strings.ToUpper(f.CallsignPrefix), f.SectorID)
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	var after *repository.Key
	if tok != nil {
		after = &repository.Key{Callsign: tok.Key, ID: tok.ID}
	}
	n := pageSize(size, defaultPageSize, maxPageSize)
	rows, err := q.store.ListOnlineControllers(ctx, f, after, n+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > n {
		rows = rows[:n]
		next = encodePageToken(fp, rows[n-1].Callsign, rows[n-1].ID)
	}
	return rows, next, nil
}
