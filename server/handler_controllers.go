package server

import (
	"context"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

// controllerHandler serves ControllerService.
type controllerHandler struct {
	vatsectorv1.UnimplementedControllerServiceServer
	q *queryService
}

func (h *controllerHandler) ListControllers(ctx context.Context, req *vatsectorv1.ListControllersRequest) (
	*vatsectorv1.ListControllersResponse, error,
) {
	cs, next, err := h.q.listControllers(ctx, req.GetSectorId(), repository.ControllerFilter{
		Kinds: controllerKindNames(req.GetKinds()), CallsignPrefix: req.GetCallsignPrefix(),
	}, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.ListControllersResponse{Controllers: make([]*vatsectorv1.Controller, len(cs)), NextPageToken: next}
	for i := range cs {
		out.Controllers[i] = controllerProto(&cs[i])
	}
	return out, nil
}

func (h *controllerHandler) ListControllerSessions(ctx context.Context, req *vatsectorv1.ListControllerSessionsRequest) (
	*vatsectorv1.ListControllerSessionsResponse, error,
) {
	from, until := timeRange(req.GetSeen())
	ss, next, err := h.q.listControllerSessions(ctx, req.GetSectorId(), repository.SessionFilter{
		CallsignPrefix: req.GetCallsignPrefix(), SeenFrom: from, SeenUntil: until,
	}, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.ListControllerSessionsResponse{Sessions: make([]*vatsectorv1.ControllerSession, len(ss)), NextPageToken: next}
	for i := range ss {
		out.Sessions[i] = controllerSessionProto(&ss[i])
	}
	return out, nil
}
