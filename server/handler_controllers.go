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
