package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// The tests of this file run on an airspace of two sets that share an id: set "test" (testAirspace: EGTT,
// EGTT_S, LFFF) and set "div" (EGTT, with other geometry, and DIV1). Loaded sectors by set then id:
// div/DIV1, div/EGTT, test/EGTT, test/EGTT_S, test/LFFF.

// divSet is the second set's name: its file's base name.
const divSet = "div"

func divRef(id string) domain.SectorRef { return domain.SectorRef{Set: divSet, ID: id} }

// The sets fixture is the fixture (events 1-9, all of set "test") and one more committed cycle, 4 at setsT2,
// of set "div": BAW9 enters div/EGTT (visit 10, event 10), BAW123 enters div/DIV1 (visit 11, event 11), DIV_CTR
// (controller 8) staffs div/EGTT and div/DIV1 (events 12, 13), and DIV_N_CTR (9) staffs div/EGTT_N, which no
// loaded set has (event 14), where UAL7 (6) is (visit 12). The live cycle, 5 at setsT3, has the events 15-20 (setsLiveCycle).
const (
	setsLastSeq = 14
	divCtl      = 8
	divNCtl     = 9
	setsLiveEnd = 20
)

var (
	setsT2 = t1.Add(30 * time.Second)
	setsT3 = t1.Add(45 * time.Second)
)

// setsAirspace loads test.geojson (testAirspace's set) and div.geojson, which has an EGTT of its own.
func setsAirspace(t testing.TB) *ingest.AirspaceSectors {
	t.Helper()
	test := testAirspace(t).Airspace().Sets()
	path := filepath.Join(t.TempDir(), divSet+".geojson")
	const geojson = `{"type": "FeatureCollection", "features": [
	  {"type": "Feature", "id": "EGTT", "properties": {"name": "Division London", "kind": "fir", "callsign_prefixes": ["DIV"]},
	   "geometry": {"type": "Polygon", "coordinates": [[[-6, 49], [0, 49], [0, 56], [-6, 56], [-6, 49]]]}},
	  {"type": "Feature", "id": "DIV1", "properties": {"name": "Division One", "kind": "sector", "floor_ft": 10000},
	   "geometry": {"type": "Polygon", "coordinates": [[[-3, 50], [-1, 50], [-1, 52], [-3, 52], [-3, 50]]]}}
	]}`
	if err := os.WriteFile(path, []byte(geojson), 0o644); err != nil {
		t.Fatal(err)
	}
	div, err := airspace.LoadGeoJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(test) != 1 || div.Name != divSet {
		t.Fatalf("sets %v and %q, want test and %q", test, div.Name, divSet)
	}
	a, err := airspace.New(test[0], div)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.NewAirspaceSectors(a)
}

// writeSetsFixture stores the fixture, then the div cycle.
func writeSetsFixture(t *testing.T, s *repository.Store) {
	t.Helper()
	writeFixture(t, s)
	entry := func(seq, flightID, visit int64, callsign string, sector domain.SectorRef) domain.Event {
		return domain.Event{Sequence: seq, Kind: domain.EventEntry, Sector: sector, OccurredAt: setsT2, CycleID: 4,
			Flight:   &domain.FlightRef{ID: flightID, CID: 1000 + flightID, Callsign: callsign, VisitID: visit},
			Position: &domain.Point{Latitude: 51 + float64(flightID)/10, Longitude: -1, Altitude: 20000 + int(flightID)}}
	}
	staffed := func(seq, ctlID int64, callsign string, sector domain.SectorRef) domain.Event {
		return domain.Event{Sequence: seq, Kind: domain.EventStaffed, Sector: sector, OccurredAt: setsT2, CycleID: 4,
			Controller: &domain.ControllerRef{ID: ctlID, CID: 2000 + ctlID, Callsign: callsign}}
	}
	w := &domain.CycleWrite{
		OpenedVisits: []domain.Visit{
			{ID: 10, FlightID: baw9, Sector: divRef("EGTT"), EnteredAt: setsT2, Entry: domain.Point{Latitude: 51.2, Longitude: -1, Altitude: 20002}},
			{ID: 11, FlightID: baw123, Sector: divRef("DIV1"), EnteredAt: setsT2, Entry: domain.Point{Latitude: 51.1, Longitude: -1, Altitude: 20001}},
			{ID: 12, FlightID: ual7b, Sector: divRef("EGTT_N"), EnteredAt: setsT2, Entry: domain.Point{Latitude: 51.6, Longitude: -1, Altitude: 20006}},
		},
		Controllers: []domain.Controller{divController(divCtl, "DIV_CTR", divRef("DIV1"), divRef("EGTT")),
			divController(divNCtl, "DIV_N_CTR", divRef("EGTT_N"))},
		Events: []domain.Event{
			entry(10, baw9, 10, "BAW9", divRef("EGTT")), entry(11, baw123, 11, "BAW123", divRef("DIV1")),
			staffed(12, divCtl, "DIV_CTR", divRef("EGTT")), staffed(13, divCtl, "DIV_CTR", divRef("DIV1")),
			staffed(14, divNCtl, "DIV_N_CTR", divRef("EGTT_N")),
		},
		Cycle: domain.Cycle{ID: 4, UpdateTimestamp: setsT2, FetchedAt: setsT2, Pilots: 5, Controllers: 6, ATIS: 1,
			VisitsOpened: 3, ControllersWritten: 2, EventsWritten: 5,
			FirstSequence: ptr[int64](fixtureLastSeq + 1), LastSequence: ptr[int64](setsLastSeq)},
	}
	if _, err := s.WriteCycle(context.Background(), w); err != nil {
		t.Fatalf("sets fixture cycle 4: %v", err)
	}
}

func divController(id int64, callsign string, sectors ...domain.SectorRef) domain.Controller {
	return domain.Controller{
		ID: id, CID: 2000 + id, Callsign: callsign, LogonTime: t0, Kind: domain.KindController, Name: fmt.Sprintf("Member %d", 2000+id),
		Facility: 6, Rating: 5, Frequency: "127.100", Server: "UK-1", VisualRange: 300, Sectors: sectors,
		LastUpdated: setsT2, FirstSeen: setsT2,
	}
}

// setsLiveCycle is cycle 5, committed while streams watch: 15 DLH4 enters div/EGTT, 16 BAW9 enters test/LFFF,
// 17 EGTT_CTR staffs test/EGTT, 18 BAW9 leaves div/EGTT, 19 DIV_CTR unstaffs div/DIV1, 20 DIV_N_CTR unstaffs
// div/EGTT_N. Events carry no foreign keys, so nothing else needs writing.
func setsLiveCycle() *domain.CycleWrite {
	flight := func(seq int64, kind domain.EventKind, flightID, visit int64, callsign string, sector domain.SectorRef) domain.Event {
		e := domain.Event{Sequence: seq, Kind: kind, Sector: sector, OccurredAt: setsT3, CycleID: 5,
			Flight:   &domain.FlightRef{ID: flightID, CID: 1000 + flightID, Callsign: callsign, VisitID: visit},
			Position: &domain.Point{Latitude: 50.5, Longitude: -0.5, Altitude: 30000}}
		if kind == domain.EventExit {
			e.Exit = &domain.VisitEnd{Reason: domain.ExitLeft, DurationSeconds: 15}
		}
		return e
	}
	staff := func(seq int64, kind domain.EventKind, ctlID int64, callsign string, sector domain.SectorRef) domain.Event {
		return domain.Event{Sequence: seq, Kind: kind, Sector: sector, OccurredAt: setsT3, CycleID: 5,
			Controller: &domain.ControllerRef{ID: ctlID, CID: 2000 + ctlID, Callsign: callsign}}
	}
	return &domain.CycleWrite{
		Events: []domain.Event{
			flight(15, domain.EventEntry, dlh4, 13, "DLH4", divRef("EGTT")),
			flight(16, domain.EventEntry, baw9, 14, "BAW9", testRef("LFFF")),
			staff(17, domain.EventStaffed, 1, "EGTT_CTR", testRef("EGTT")),
			flight(18, domain.EventExit, baw9, 10, "BAW9", divRef("EGTT")),
			staff(19, domain.EventUnstaffed, divCtl, "DIV_CTR", divRef("DIV1")),
			staff(20, domain.EventUnstaffed, divNCtl, "DIV_N_CTR", divRef("EGTT_N")),
		},
		Cycle: domain.Cycle{ID: 5, UpdateTimestamp: setsT3, FetchedAt: setsT3, EventsWritten: 6,
			FirstSequence: ptr[int64](setsLastSeq + 1), LastSequence: ptr[int64](setsLiveEnd)},
	}
}

// eachSetsEnv is eachEnv on the two-set airspace and the sets fixture.
func eachSetsEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			for _, tr := range transports() {
				t.Run(tr.name, func(t *testing.T) {
					store := dbtest.Open(t, d, repository.Pool{})
					writeSetsFixture(t, store)
					fn(t, startEnv(t, store, tr, envOptions{sectors: setsAirspace(t)}))
				})
			}
		})
	}
}

// ambiguousEGTT are the fragments of the refusal of the bare id EGTT: both sectors it could be.
var ambiguousEGTT = []string{"ambiguous", "sets/div/sectors/EGTT", "sets/test/sectors/EGTT"}

// sectorNameSummary is "resource_name:flights[staffing callsigns]".
func sectorNameSummary(s *vatsectorv1.Sector) string {
	var staff []string
	for _, c := range s.GetStaffedBy() {
		staff = append(staff, c.GetCallsign())
	}
	return fmt.Sprintf("%s:%d%v", s.GetResourceName(), s.GetFlightCount(), staff)
}

func TestSetsListSectors(t *testing.T) {
	all := []string{"sets/div/sectors/DIV1:1[DIV_CTR]", "sets/div/sectors/EGTT:1[DIV_CTR]",
		"sets/test/sectors/EGTT:2[EGTT_1_CTR EGTT_CTR]", "sets/test/sectors/EGTT_S:1[EGTT_S_CTR]", "sets/test/sectors/LFFF:0[]"}
	cases := []struct {
		name string
		req  *vatsectorv1.ListSectorsRequest
		want []string
		code codes.Code
		msg  []string
	}{
		{name: "both EGTT, by set then id, each with its own counts and staffing", req: &vatsectorv1.ListSectorsRequest{}, want: all},
		{name: "one set", req: &vatsectorv1.ListSectorsRequest{Set: divSet}, want: all[:2]},
		{name: "by resource name", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/div/sectors/EGTT"}}, want: all[1:2]},
		{name: "by the other set's resource name", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/test/sectors/EGTT"}},
			want: all[2:3]},
		{name: "by unambiguous bare id", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"DIV1"}}, want: all[:1]},
		{name: "names and bare ids together, listed in order",
			req:  &vatsectorv1.ListSectorsRequest{Sectors: []string{"LFFF", "sets/test/sectors/EGTT", "DIV1"}},
			want: []string{all[0], all[2], all[4]}},
		{name: "resource name with a set filter of another set", want: []string{},
			req: &vatsectorv1.ListSectorsRequest{Set: "test", Sectors: []string{"sets/div/sectors/EGTT"}}},
		{name: "a name no loaded set has", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/div/sectors/LFFF"}}, want: []string{}},
		{name: "a bare id no loaded set has", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"EGTT_N"}}, want: []string{}},
		{name: "ambiguous bare id", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"DIV1", "EGTT"}},
			code: codes.InvalidArgument, msg: append([]string{"sectors[1]"}, ambiguousEGTT...)},
		{name: "malformed name", req: &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/div/zones/EGTT"}},
			code: codes.InvalidArgument, msg: []string{"sectors[0]", "not a sector resource name"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.sectorClient.ListSectors(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg...)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, s := range resp.GetSectors() {
					got = append(got, sectorNameSummary(s))
					if want := "sets/" + s.GetSet() + "/sectors/" + s.GetId(); s.GetResourceName() != want {
						t.Errorf("sector %s/%s has resource_name %q, want %q", s.GetSet(), s.GetId(), s.GetResourceName(), want)
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("sectors %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("div EGTT is its own sector", func(t *testing.T) {
			resp, err := e.sectorClient.ListSectors(context.Background(), &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/div/sectors/EGTT"}})
			if err != nil {
				t.Fatal(err)
			}
			want := &vatsectorv1.Sector{Id: "EGTT", Name: "Division London", Set: divSet, ResourceName: "sets/div/sectors/EGTT",
				Source: vatsectorv1.SectorSource_SECTOR_SOURCE_CUSTOM, Kind: "fir", FlightCount: 1,
				StaffedBy: []*vatsectorv1.ControllerRef{{Id: divCtl, Cid: 2000 + divCtl, Callsign: "DIV_CTR"}}}
			if len(resp.GetSectors()) != 1 || !proto.Equal(resp.GetSectors()[0], want) {
				t.Errorf("got %v, want only\n%s", resp.GetSectors(), prototext.Format(want))
			}
		})
	})
}

func TestSetsListSectorsPaging(t *testing.T) {
	cases := []struct {
		name    string
		sectors []string
		size    int32
		want    []string
	}{
		{name: "pages of 1 across the set boundary", size: 1, want: []string{"sets/div/sectors/DIV1", "sets/div/sectors/EGTT",
			"sets/test/sectors/EGTT", "sets/test/sectors/EGTT_S", "sets/test/sectors/LFFF"}},
		{name: "pages of 2, one ending at the boundary", size: 2, want: []string{"sets/div/sectors/DIV1", "sets/div/sectors/EGTT",
			"sets/test/sectors/EGTT", "sets/test/sectors/EGTT_S", "sets/test/sectors/LFFF"}},
		{name: "filtered by both EGTT, pages of 1", size: 1, sectors: []string{"sets/test/sectors/EGTT", "sets/div/sectors/EGTT"},
			want: []string{"sets/div/sectors/EGTT", "sets/test/sectors/EGTT"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				token := ""
				for page := 0; ; page++ {
					if page > len(tc.want) {
						t.Fatalf("paging does not end: %v", got)
					}
					resp, err := e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{
						Sectors: tc.sectors, PageSize: tc.size, PageToken: token})
					if err != nil {
						t.Fatal(err)
					}
					if n := int32(len(resp.GetSectors())); n > tc.size || (n < tc.size && resp.GetNextPageToken() != "") {
						t.Errorf("page %d has %d sectors, page size %d, next token %q", page, n, tc.size, resp.GetNextPageToken())
					}
					for _, s := range resp.GetSectors() {
						got = append(got, s.GetResourceName())
					}
					if token = resp.GetNextPageToken(); token == "" {
						break
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("pages give %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("a token of one filter refused with another", func(t *testing.T) {
			resp, err := e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/div/sectors/EGTT", "DIV1"}, PageSize: 1})
			if err != nil || resp.GetNextPageToken() == "" {
				t.Fatalf("first page: %v, token %q", err, resp.GetNextPageToken())
			}
			_, err = e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/test/sectors/EGTT", "DIV1"},
				PageSize: 1, PageToken: resp.GetNextPageToken()})
			wantStatus(t, err, codes.InvalidArgument, "page_token")
			// The same sectors named otherwise (bare DIV1 is div's) are the same filter.
			resp, err = e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{Sectors: []string{"sets/div/sectors/DIV1", "sets/div/sectors/EGTT"},
				PageSize: 1, PageToken: resp.GetNextPageToken()})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetSectors()) != 1 || resp.GetSectors()[0].GetResourceName() != "sets/div/sectors/EGTT" {
				t.Errorf("second page %v, want sets/div/sectors/EGTT", resp.GetSectors())
			}
		})
	})
}

func TestSetsGetSectorOccupancy(t *testing.T) {
	cases := []struct {
		name      string
		req       *vatsectorv1.GetSectorOccupancyRequest
		occupants []string // callsign/visit
		summary   string
		code      codes.Code
		msg       []string
	}{
		{name: "div EGTT by name: its occupants only", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div/sectors/EGTT"},
			occupants: []string{"BAW9/10"}, summary: "sets/div/sectors/EGTT:1[DIV_CTR]"},
		{name: "test EGTT by name", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/test/sectors/EGTT"},
			occupants: []string{"BAW123/1", "DLH4/2"}, summary: "sets/test/sectors/EGTT:2[EGTT_1_CTR EGTT_CTR]"},
		{name: "resource name in sector_id", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "sets/div/sectors/DIV1"},
			occupants: []string{"BAW123/11"}, summary: "sets/div/sectors/DIV1:1[DIV_CTR]"},
		{name: "unambiguous bare id", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "DIV1"},
			occupants: []string{"BAW123/11"}, summary: "sets/div/sectors/DIV1:1[DIV_CTR]"},
		{name: "unambiguous bare id in name", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "EGTT_S"},
			occupants: []string{"DLH4/3"}, summary: "sets/test/sectors/EGTT_S:1[EGTT_S_CTR]"},
		{name: "sector_id and name the same", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "sets/div/sectors/EGTT", Name: "sets/div/sectors/EGTT"},
			occupants: []string{"BAW9/10"}, summary: "sets/div/sectors/EGTT:1[DIV_CTR]"},
		{name: "ambiguous bare id", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT"},
			code: codes.InvalidArgument, msg: append([]string{"sector_id"}, ambiguousEGTT...)},
		{name: "ambiguous bare id in name", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "EGTT"},
			code: codes.InvalidArgument, msg: append([]string{"name"}, ambiguousEGTT...)},
		{name: "malformed: no collection", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div"},
			code: codes.InvalidArgument, msg: []string{"name", `"sets/div" is not a sector resource name`}},
		{name: "malformed: empty set", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets//sectors/X"},
			code: codes.InvalidArgument, msg: []string{"not a sector resource name"}},
		{name: "malformed: other collection", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div/zones/X"},
			code: codes.InvalidArgument, msg: []string{"not a sector resource name"}},
		{name: "malformed: empty id", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div/sectors/"},
			code: codes.InvalidArgument, msg: []string{"not a sector resource name"}},
		{name: "malformed name in sector_id", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "sets/div/zones/X"},
			code: codes.InvalidArgument, msg: []string{"sector_id", "not a sector resource name"}},
		{name: "unknown name: id of the other set", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div/sectors/LFFF"},
			code: codes.NotFound, msg: []string{`"sets/div/sectors/LFFF" is not loaded`}},
		{name: "unknown name: no such set", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/vatspy/sectors/EGTT"},
			code: codes.NotFound, msg: []string{"not loaded"}},
		{name: "bare id no loaded set has", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT_N"},
			code: codes.NotFound, msg: []string{`"EGTT_N" is not loaded`}},
		{name: "name of a sector not loaded, occupied", req: &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div/sectors/EGTT_N"},
			code: codes.NotFound, msg: []string{`"sets/div/sectors/EGTT_N" is not loaded`}},
		{name: "sector_id and name different", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "sets/test/sectors/EGTT", Name: "sets/div/sectors/EGTT"},
			code: codes.InvalidArgument, msg: []string{"different sectors"}},
		{name: "sector_id and name different, bare id", req: &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT_S", Name: "sets/div/sectors/DIV1"},
			code: codes.InvalidArgument, msg: []string{"different sectors"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.sectorClient.GetSectorOccupancy(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg...)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, o := range resp.GetOccupants() {
					got = append(got, fmt.Sprintf("%s/%d", o.GetFlight().GetCallsign(), o.GetVisitId()))
				}
				if !slices.Equal(got, tc.occupants) {
					t.Errorf("occupants %v, want %v", got, tc.occupants)
				}
				if s := sectorNameSummary(resp.GetSector()); s != tc.summary {
					t.Errorf("sector %s, want %s", s, tc.summary)
				}
				if !resp.GetAsOf().AsTime().Equal(setsT2) {
					t.Errorf("as of %v, want the div cycle's %v", resp.GetAsOf().AsTime(), setsT2)
				}
			})
		}
		t.Run("paging is per sector", func(t *testing.T) {
			ctx := context.Background()
			first, err := e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/test/sectors/EGTT", PageSize: 1})
			if err != nil || first.GetNextPageToken() == "" {
				t.Fatalf("first page: %v, token %q", err, first.GetNextPageToken())
			}
			_, err = e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{Name: "sets/div/sectors/EGTT",
				PageSize: 1, PageToken: first.GetNextPageToken()})
			wantStatus(t, err, codes.InvalidArgument, "page_token")
		})
	})
}

func TestSetsListSectorEvents(t *testing.T) {
	staffed, unstaffed := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED
	entry := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY
	type req = vatsectorv1.ListSectorEventsRequest
	cases := []struct {
		name string
		req  *req
		want []int64
		code codes.Code
		msg  []string
	}{
		{name: "all", req: &req{}, want: seqRange(1, setsLastSeq)},
		{name: "set div", req: &req{Sets: []string{divSet}}, want: seqRange(10, 14)},
		{name: "set test", req: &req{Sets: []string{"test"}}, want: seqRange(1, 9)},
		{name: "both sets", req: &req{Sets: []string{"test", divSet}}, want: seqRange(1, 14)},
		{name: "unknown set", req: &req{Sets: []string{"vatspy"}}, want: nil},
		{name: "resource name", req: &req{SectorIds: []string{"sets/div/sectors/EGTT"}}, want: []int64{10, 12}},
		{name: "the other set's resource name", req: &req{SectorIds: []string{"sets/test/sectors/EGTT"}}, want: []int64{1, 2, 4, 5, 8}},
		{name: "unambiguous bare id", req: &req{SectorIds: []string{"DIV1"}}, want: []int64{11, 13}},
		{name: "bare id no loaded set has: any set's", req: &req{SectorIds: []string{"EGTT_N"}}, want: []int64{7, 9, 14}},
		{name: "resource name of a sector no longer loaded", req: &req{SectorIds: []string{"sets/div/sectors/EGTT_N"}}, want: []int64{14}},
		{name: "ambiguous bare id", req: &req{SectorIds: []string{"sets/div/sectors/DIV1", "EGTT"}},
			code: codes.InvalidArgument, msg: append([]string{"sector_ids[1]"}, ambiguousEGTT...)},
		{name: "malformed name", req: &req{SectorIds: []string{"sets/div"}},
			code: codes.InvalidArgument, msg: []string{"sector_ids[0]", "not a sector resource name"}},
		{name: "flight cid", req: &req{FlightCid: 1000 + baw123}, want: []int64{1, 11}},
		{name: "flight cid of a flight gone offline", req: &req{FlightCid: 1000 + aal1}, want: []int64{4, 8}},
		{name: "flight callsign, case-insensitive", req: &req{FlightCallsign: "baw123"}, want: []int64{1, 11}},
		{name: "flight callsign is whole, not a prefix", req: &req{FlightCallsign: "BAW"}, want: nil},
		{name: "staffing events never match a callsign", req: &req{FlightCallsign: "DIV_CTR"}, want: nil},
		{name: "staffing events never match a cid", req: &req{FlightCid: 2000 + divCtl}, want: nil},
		{name: "set and cid", req: &req{Sets: []string{divSet}, FlightCid: 1000 + baw123}, want: []int64{11}},
		{name: "set and callsign", req: &req{Sets: []string{"test"}, FlightCallsign: "Baw123"}, want: []int64{1}},
		{name: "resource name and cid", req: &req{SectorIds: []string{"sets/test/sectors/EGTT"}, FlightCid: 1000 + dlh4}, want: []int64{2}},
		{name: "resource name and a flight not in it", req: &req{SectorIds: []string{"sets/div/sectors/EGTT"}, FlightCallsign: "DLH4"}, want: nil},
		{name: "cid and callsign of different flights", req: &req{FlightCid: 1000 + baw123, FlightCallsign: "DLH4"}, want: nil},
		{name: "cid and callsign of the same flight", req: &req{FlightCid: 1000 + baw123, FlightCallsign: "baw123"}, want: []int64{1, 11}},
		{name: "set and kinds", req: &req{Sets: []string{divSet}, Kinds: []vatsectorv1.SectorEventKind{staffed, unstaffed}},
			want: []int64{12, 13, 14}},
		{name: "set, kind and callsign", req: &req{Sets: []string{divSet}, Kinds: []vatsectorv1.SectorEventKind{entry}, FlightCallsign: "BAW9"},
			want: []int64{10}},
		{name: "set, callsign and time range", want: []int64{11},
			req: &req{Sets: []string{divSet}, FlightCallsign: "BAW123", Occurred: &vatsectorv1.TimeRange{Start: timestamppb.New(setsT2)}}},
		{name: "sets and sector_ids: events of either", req: &req{Sets: []string{divSet}, SectorIds: []string{"sets/test/sectors/EGTT_S"}},
			want: []int64{3, 6, 10, 11, 12, 13, 14}},
		{name: "sets and sector_ids, and cid", want: []int64{3},
			req: &req{Sets: []string{divSet}, SectorIds: []string{"sets/test/sectors/EGTT_S"}, FlightCid: 1000 + dlh4}},
		{name: "negative cid", req: &req{FlightCid: -1}, code: codes.InvalidArgument, msg: []string{"flight_cid"}},
		{name: "empty set", req: &req{Sets: []string{divSet, ""}}, code: codes.InvalidArgument, msg: []string{"sets[1]"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.sectorClient.ListSectorEvents(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg...)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := sequences(resp.GetEvents()); !slices.Equal(got, tc.want) {
					t.Errorf("events %v, want %v", got, tc.want)
				}
				checkEventNames(t, resp.GetEvents())
			})
		}
	})
}

// checkEventNames fails for an event whose sector_set and sector do not name its sector.
func checkEventNames(t *testing.T, events []*vatsectorv1.SectorEvent) {
	t.Helper()
	for _, ev := range events {
		if ev.GetSectorSet() == "" || ev.GetSector() != "sets/"+ev.GetSectorSet()+"/sectors/"+ev.GetSectorId() {
			t.Errorf("event %d: sector_set %q, sector %q, sector_id %q", ev.GetSequence(), ev.GetSectorSet(), ev.GetSector(), ev.GetSectorId())
		}
	}
}

func TestSetsSectorEventsCarryTheirSet(t *testing.T) {
	want := []*vatsectorv1.SectorEvent{
		{Sequence: 10, Kind: vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY, SectorId: "EGTT", SectorSet: divSet,
			Sector: "sets/div/sectors/EGTT", OccurredAt: timestamppb.New(setsT2), CycleId: 4,
			Flight: &vatsectorv1.FlightRef{Id: baw9, Cid: 1000 + baw9, Callsign: "BAW9"}, VisitId: 10,
			Position: &vatsectorv1.Point{Latitude: 51.2, Longitude: -1, AltitudeFt: 20002}},
		{Sequence: 12, Kind: vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED, SectorId: "EGTT", SectorSet: divSet,
			Sector: "sets/div/sectors/EGTT", OccurredAt: timestamppb.New(setsT2), CycleId: 4,
			Controller: &vatsectorv1.ControllerRef{Id: divCtl, Cid: 2000 + divCtl, Callsign: "DIV_CTR"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		resp, err := e.sectorClient.ListSectorEvents(context.Background(), &vatsectorv1.ListSectorEventsRequest{
			SectorIds: []string{"sets/div/sectors/EGTT"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetEvents()) != len(want) {
			t.Fatalf("%d events, want %d", len(resp.GetEvents()), len(want))
		}
		for i, w := range want {
			if got := resp.GetEvents()[i]; !proto.Equal(got, w) {
				t.Errorf("got\n%s\nwant\n%s", prototext.Format(got), prototext.Format(w))
			}
		}
	})
}

func TestSetsListSectorEventsPaging(t *testing.T) {
	eachSetsEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var got []int64
		token := ""
		for page := 0; ; page++ {
			if page > 4 {
				t.Fatal("paging does not end")
			}
			// The same sets in another order, and the callsign in another case, are the same filter.
			sets, callsign := []string{divSet, "test"}, "baw123"
			if page%2 == 1 {
				sets, callsign = []string{"test", divSet}, "BAW123"
			}
			resp, err := e.sectorClient.ListSectorEvents(ctx, &vatsectorv1.ListSectorEventsRequest{
				Sets: sets, FlightCallsign: callsign, PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			got = append(got, sequences(resp.GetEvents())...)
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(got, []int64{1, 11}) {
			t.Errorf("pages of 1 give %v, want [1 11]", got)
		}
		for _, other := range []*vatsectorv1.ListSectorEventsRequest{
			{Sets: []string{divSet}, FlightCallsign: "BAW123"},
			{Sets: []string{divSet, "test"}, FlightCallsign: "DLH4"},
			{Sets: []string{divSet, "test"}, FlightCallsign: "BAW123", FlightCid: 1000 + baw123},
		} {
			first, err := e.sectorClient.ListSectorEvents(ctx, &vatsectorv1.ListSectorEventsRequest{
				Sets: []string{divSet, "test"}, FlightCallsign: "BAW123", PageSize: 1})
			if err != nil || first.GetNextPageToken() == "" {
				t.Fatalf("first page: %v, token %q", err, first.GetNextPageToken())
			}
			other.PageSize, other.PageToken = 1, first.GetNextPageToken()
			_, err = e.sectorClient.ListSectorEvents(ctx, other)
			wantStatus(t, err, codes.InvalidArgument, "other filters")
		}
	})
}

// recvUntil reads a sector event stream, single events and batches, until a heartbeat says every matching event
// up to last was sent, and returns the events it read.
func recvUntil(t *testing.T, s vatsectorv1.SectorService_WatchSectorEventsClient, last int64) []*vatsectorv1.SectorEvent {
	t.Helper()
	var out []*vatsectorv1.SectorEvent
	for {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("after events %v: %v", sequences(out), err)
		}
		if ev := m.GetEvent(); ev != nil {
			out = append(out, ev)
		}
		out = append(out, m.GetEvents().GetEvents()...)
		if hb := m.GetHeartbeat(); hb != nil && hb.GetLatestSequence() >= last {
			return out
		}
	}
}

func TestSetsWatchSectorEvents(t *testing.T) {
	unstaffed := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED
	type req = vatsectorv1.WatchSectorEventsRequest
	cases := []struct {
		name   string
		filter *req    // without after_sequence
		stored []int64 // replayed by a resume from 0
		live   []int64 // of the live cycle, 15-20
	}{
		{name: "set div", filter: &req{Sets: []string{divSet}}, stored: seqRange(10, 14), live: []int64{15, 18, 19, 20}},
		{name: "set test", filter: &req{Sets: []string{"test"}}, stored: seqRange(1, 9), live: []int64{16, 17}},
		{name: "resource name", filter: &req{SectorIds: []string{"sets/div/sectors/EGTT"}}, stored: []int64{10, 12}, live: []int64{15, 18}},
		{name: "the other set's resource name", filter: &req{SectorIds: []string{"sets/test/sectors/EGTT"}},
			stored: []int64{1, 2, 4, 5, 8}, live: []int64{17}},
		{name: "unambiguous bare id", filter: &req{SectorIds: []string{"DIV1"}}, stored: []int64{11, 13}, live: []int64{19}},
		{name: "bare id no loaded set has: any set's", filter: &req{SectorIds: []string{"EGTT_N"}}, stored: []int64{7, 9, 14}, live: []int64{20}},
		{name: "flight cid", filter: &req{FlightCid: 1000 + baw9}, stored: []int64{10}, live: []int64{16, 18}},
		{name: "flight callsign, case-insensitive", filter: &req{FlightCallsign: "baw9"}, stored: []int64{10}, live: []int64{16, 18}},
		{name: "staffing events never match a flight", filter: &req{FlightCallsign: "DIV_CTR"}},
		{name: "set and callsign", filter: &req{Sets: []string{divSet}, FlightCallsign: "Dlh4"}, live: []int64{15}},
		{name: "set and kind", filter: &req{Sets: []string{divSet}, Kinds: []vatsectorv1.SectorEventKind{unstaffed}}, live: []int64{19, 20}},
		{name: "sets and sectors: either", filter: &req{Sets: []string{divSet}, SectorIds: []string{"sets/test/sectors/LFFF"}},
			stored: seqRange(10, 14), live: []int64{15, 16, 18, 19, 20}},
		{name: "resource name and cid, batched", filter: &req{SectorIds: []string{"sets/div/sectors/EGTT"}, FlightCid: 1000 + baw9, BatchEvents: true},
			stored: []int64{10}, live: []int64{18}},
		{name: "set, batched", filter: &req{Sets: []string{divSet}, BatchEvents: true}, stored: seqRange(10, 14), live: []int64{15, 18, 19, 20}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithCancel(streamCtx(t))
		defer cancel()
		type streams struct {
			resumed, live vatsectorv1.SectorService_WatchSectorEventsClient
		}
		open := make([]streams, len(cases))
		for i, tc := range cases {
			resume := proto.Clone(tc.filter).(*req)
			resume.AfterSequence = ptr[int64](0)
			var err error
			if open[i].resumed, err = e.sectorClient.WatchSectorEvents(ctx, resume); err != nil {
				t.Fatal(err)
			}
			if open[i].live, err = e.sectorClient.WatchSectorEvents(ctx, tc.filter); err != nil {
				t.Fatal(err)
			}
		}
		// Every stream registered before the cycle commits, or it would be replayed instead of sent live.
		waitSubscribers(t, e.hub, 2*len(cases))
		commit(t, e.store, e.hub, setsLiveCycle())
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resumed := recvUntil(t, open[i].resumed, setsLiveEnd)
				checkEventNames(t, resumed)
				var stored, live []int64
				for _, s := range sequences(resumed) {
					if s <= setsLastSeq {
						stored = append(stored, s)
					} else {
						live = append(live, s)
					}
				}
				if !slices.Equal(stored, tc.stored) {
					t.Errorf("resume from 0 replayed %v, want %v", stored, tc.stored)
				}
				if !slices.Equal(live, tc.live) {
					t.Errorf("resume from 0 then sent live %v, want %v", live, tc.live)
				}
				liveOnly := recvUntil(t, open[i].live, setsLiveEnd)
				checkEventNames(t, liveOnly)
				if got := sequences(liveOnly); !slices.Equal(got, tc.live) {
					t.Errorf("live stream sent %v, want %v", got, tc.live)
				}
			})
		}
		// A client may hold only so many streams: end these before opening the next.
		cancel()
		waitOpenStreams(t, e, 0)
		t.Run("resume after the live cycle replays it through the filters", func(t *testing.T) {
			ctx := streamCtx(t)
			for _, tc := range cases {
				resume := proto.Clone(tc.filter).(*req)
				resume.AfterSequence = ptr[int64](setsLastSeq)
				s, err := e.sectorClient.WatchSectorEvents(ctx, resume)
				if err != nil {
					t.Fatal(err)
				}
				got := recvUntil(t, s, setsLiveEnd)
				checkEventNames(t, got)
				if seqs := sequences(got); !slices.Equal(seqs, tc.live) {
					t.Errorf("%s: resume from %d replayed %v, want %v", tc.name, setsLastSeq, seqs, tc.live)
				}
			}
		})
	})
}

// waitOpenStreams blocks until the server has n streams open, waiting on its admission's change notifications.
func waitOpenStreams(t *testing.T, e *env, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got, changed := e.srv.admit.openStreams()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%d streams open, want %d", got, n)
		}
	}
}

func TestSetsWatchSectorEventsAmbiguous(t *testing.T) {
	cases := []struct {
		name string
		req  *vatsectorv1.WatchSectorEventsRequest
		msg  []string
	}{
		{name: "ambiguous bare id", req: &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"DIV1", "EGTT"}},
			msg: append([]string{"sector_ids[1]"}, ambiguousEGTT...)},
		{name: "ambiguous bare id on resume", req: &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"EGTT"}, AfterSequence: ptr[int64](0)},
			msg: ambiguousEGTT},
		{name: "malformed name", req: &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"sets//sectors/EGTT"}},
			msg: []string{"sector_ids[0]", "not a sector resource name"}},
		{name: "negative cid", req: &vatsectorv1.WatchSectorEventsRequest{FlightCid: -5}, msg: []string{"flight_cid"}},
		{name: "empty set", req: &vatsectorv1.WatchSectorEventsRequest{Sets: []string{""}}, msg: []string{"sets[0]"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), tc.req)
				if err == nil {
					_, err = s.Recv()
				}
				wantStatus(t, err, codes.InvalidArgument, tc.msg...)
			})
		}
	})
}

func TestSetsFlightFilterBySectorName(t *testing.T) {
	cases := []struct {
		name string
		req  *vatsectorv1.ListFlightsRequest
		want []string // callsign/id
		code codes.Code
		msg  []string
	}{
		{name: "div EGTT by name", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/div/sectors/EGTT"}, want: []string{"BAW9/2"}},
		{name: "test EGTT by name", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/test/sectors/EGTT"}, want: []string{"BAW123/1", "DLH4/3"}},
		{name: "unambiguous bare id", req: &vatsectorv1.ListFlightsRequest{SectorId: "DIV1"}, want: []string{"BAW123/1"}},
		{name: "unambiguous bare id of the other set", req: &vatsectorv1.ListFlightsRequest{SectorId: "EGTT_S"}, want: []string{"DLH4/3"}},
		{name: "offline too: each set's own history", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/test/sectors/EGTT", IncludeOffline: true},
			want: []string{"AAL1/4", "BAW123/1", "DLH4/3"}},
		{name: "offline too, div", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/div/sectors/EGTT", IncludeOffline: true},
			want: []string{"BAW9/2"}},
		{name: "a name no loaded set has", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/div/sectors/EGTT_S"}, want: []string{}},
		{name: "bare id no loaded set has: any set's", req: &vatsectorv1.ListFlightsRequest{SectorId: "EGTT_N"}, want: []string{"UAL7/6"}},
		{name: "name of a sector not loaded", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/div/sectors/EGTT_N"}, want: []string{"UAL7/6"}},
		{name: "name of a sector not loaded, other set", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/test/sectors/EGTT_N"}, want: []string{}},
		{name: "ambiguous bare id", req: &vatsectorv1.ListFlightsRequest{SectorId: "EGTT"},
			code: codes.InvalidArgument, msg: append([]string{"sector_id"}, ambiguousEGTT...)},
		{name: "malformed name", req: &vatsectorv1.ListFlightsRequest{SectorId: "sets/div"},
			code: codes.InvalidArgument, msg: []string{"sector_id", "not a sector resource name"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.flightClient.ListFlights(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg...)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, f := range resp.GetFlights() {
					got = append(got, fmt.Sprintf("%s/%d", f.GetCallsign(), f.GetId()))
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("flights %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("current sectors of both sets", func(t *testing.T) {
			resp, err := e.flightClient.ListFlights(context.Background(), &vatsectorv1.ListFlightsRequest{SectorId: "DIV1"})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetFlights()) != 1 {
				t.Fatalf("flights %v, want BAW123 only", resp.GetFlights())
			}
			f := resp.GetFlights()[0]
			if want := []string{"sets/div/sectors/DIV1", "sets/test/sectors/EGTT"}; !slices.Equal(f.GetCurrentSectors(), want) {
				t.Errorf("current_sectors %v, want %v", f.GetCurrentSectors(), want)
			}
			if want := []string{"DIV1", "EGTT"}; !slices.Equal(f.GetCurrentSectorIds(), want) {
				t.Errorf("current_sector_ids %v, want %v", f.GetCurrentSectorIds(), want)
			}
		})
		t.Run("visits carry their set", func(t *testing.T) {
			resp, err := e.flightClient.GetFlight(context.Background(), &vatsectorv1.GetFlightRequest{
				Selector: &vatsectorv1.GetFlightRequest_Id{Id: baw123}})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, v := range resp.GetVisits() {
				got = append(got, fmt.Sprintf("%d %s %s %s", v.GetId(), v.GetSectorSet(), v.GetSectorId(), v.GetSector()))
			}
			slices.Sort(got)
			if want := []string{"1 test EGTT sets/test/sectors/EGTT", "11 div DIV1 sets/div/sectors/DIV1"}; !slices.Equal(got, want) {
				t.Errorf("visits %q, want %q", got, want)
			}
			if want := []string{"sets/div/sectors/DIV1", "sets/test/sectors/EGTT"}; !slices.Equal(resp.GetFlight().GetCurrentSectors(), want) {
				t.Errorf("current_sectors %v, want %v", resp.GetFlight().GetCurrentSectors(), want)
			}
		})
	})
}

func TestSetsControllerFilterBySectorName(t *testing.T) {
	cases := []struct {
		name string
		req  *vatsectorv1.ListControllersRequest
		want []string
		code codes.Code
		msg  []string
	}{
		{name: "div EGTT by name", req: &vatsectorv1.ListControllersRequest{SectorId: "sets/div/sectors/EGTT"}, want: []string{"DIV_CTR"}},
		{name: "test EGTT by name", req: &vatsectorv1.ListControllersRequest{SectorId: "sets/test/sectors/EGTT"},
			want: []string{"EGTT_1_CTR", "EGTT_CTR"}},
		{name: "unambiguous bare id", req: &vatsectorv1.ListControllersRequest{SectorId: "DIV1"}, want: []string{"DIV_CTR"}},
		{name: "unambiguous bare id of the other set", req: &vatsectorv1.ListControllersRequest{SectorId: "EGTT_S"}, want: []string{"EGTT_S_CTR"}},
		{name: "a name no loaded set has", req: &vatsectorv1.ListControllersRequest{SectorId: "sets/div/sectors/EGTT_S"}, want: []string{}},
		{name: "bare id no loaded set has: any set's", req: &vatsectorv1.ListControllersRequest{SectorId: "EGTT_N"}, want: []string{"DIV_N_CTR"}},
		{name: "name of a sector not loaded", req: &vatsectorv1.ListControllersRequest{SectorId: "sets/div/sectors/EGTT_N"}, want: []string{"DIV_N_CTR"}},
		{name: "name of a sector not loaded, other set", req: &vatsectorv1.ListControllersRequest{SectorId: "sets/test/sectors/EGTT_N"}, want: []string{}},
		{name: "ambiguous bare id", req: &vatsectorv1.ListControllersRequest{SectorId: "EGTT"},
			code: codes.InvalidArgument, msg: append([]string{"sector_id"}, ambiguousEGTT...)},
		{name: "malformed name", req: &vatsectorv1.ListControllersRequest{SectorId: "sets//sectors/EGTT"},
			code: codes.InvalidArgument, msg: []string{"sector_id", "not a sector resource name"}},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.controllerClient.ListControllers(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg...)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, c := range resp.GetControllers() {
					got = append(got, c.GetCallsign())
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("controllers %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("sectors as resource names", func(t *testing.T) {
			resp, err := e.controllerClient.ListControllers(context.Background(), &vatsectorv1.ListControllersRequest{SectorId: "DIV1"})
			if err != nil || len(resp.GetControllers()) != 1 {
				t.Fatalf("%v, %v; want DIV_CTR", resp.GetControllers(), err)
			}
			c := resp.GetControllers()[0]
			if want := []string{"sets/div/sectors/DIV1", "sets/div/sectors/EGTT"}; !slices.Equal(c.GetSectors(), want) {
				t.Errorf("sectors %v, want %v", c.GetSectors(), want)
			}
			if want := []string{"DIV1", "EGTT"}; !slices.Equal(c.GetSectorIds(), want) {
				t.Errorf("sector_ids %v, want %v", c.GetSectorIds(), want)
			}
		})
	})
}
