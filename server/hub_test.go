package server

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vatsector/vatsector/hub"
)

// The hub's own tests (hub/) check when it refuses and drops subscribers; these check what a client of the
// server is told then, which the server alone decides.
func TestHubRefusalsReachTheClientAsStatuses(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*hub.Hub)
		code  codes.Code
		msg   string
	}{
		{"before seeding", func(*hub.Hub) {}, codes.Unavailable, "the server is starting; reconnect with backoff"},
		{"after closing", func(h *hub.Hub) { h.Seed(nil, 0); h.Close() }, codes.Unavailable,
			"the server is shutting down; reconnect with backoff"},
		{"too many", func(h *hub.Hub) {
			h.Seed(nil, 0)
			if _, err := h.Subscribe(); err != nil {
				t.Fatal(err)
			}
		}, codes.ResourceExhausted, "too many streams are open (1): retry in 5s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hub.New(hub.Config{MaxSubscribers: 1})
			tc.setup(h)
			_, err := h.Subscribe()
			st, _ := status.FromError(asStatus(err))
			if st.Code() != tc.code || st.Message() != tc.msg {
				t.Fatalf("subscribe: %v, want %v %q", st.Err(), tc.code, tc.msg)
			}
			if tc.code == codes.ResourceExhausted {
				if after := wantRetryHint(t, st.Err()); after != retryStreamsFull {
					t.Errorf("retry after %v, want %v", after, retryStreamsFull)
				}
			}
		})
	}
}

func TestHubCloseEndsStreamsWithUnavailable(t *testing.T) {
	h := hub.New(hub.Config{})
	h.Seed(nil, 0)
	s, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	<-s.Done()
	wantStatus(t, asStatus(s.Err()), codes.Unavailable, "the server is shutting down; reconnect with backoff")
}
