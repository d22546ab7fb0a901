package sim

// airline is an ICAO operator designator with its share of its region's airline flights.
type airline struct {
	icao   string
	weight float64
}

// airlines per region of departure (the operator of a flight is usually from one of its two ends).
var airlines = [numRegions][]airline{
	regionEU: {
		{"BAW", 8}, {"DLH", 7}, {"RYR", 7}, {"EZY", 6}, {"AFR", 5}, {"KLM", 5}, {"THY", 4}, {"SAS", 2},
		{"IBE", 2}, {"VLG", 2}, {"SWR", 2}, {"TAP", 2}, {"WZZ", 2}, {"EWG", 2}, {"EIN", 2}, {"AUA", 1},
		{"ITY", 1}, {"BEL", 1}, {"FIN", 1}, {"LOT", 1}, {"PGT", 1}, {"AEE", 1}, {"SHT", 1}, {"NAX", 1},
		{"TOM", 1}, {"EXS", 1}, {"TRA", 1}, {"CFG", 1}, {"AFL", 1}, {"SXS", 1}, {"CLX", 0.5}, {"BCS", 0.5},
	},
	regionNA: {
		{"AAL", 8}, {"DAL", 8}, {"UAL", 7}, {"SWA", 7}, {"JBU", 3}, {"ACA", 3}, {"ASA", 2}, {"NKS", 2},
		{"SKW", 2}, {"WJA", 2}, {"FFT", 1}, {"RPA", 1}, {"ENY", 1}, {"FDX", 1}, {"UPS", 1}, {"AAY", 1},
		{"AMX", 1}, {"VOI", 1}, {"HAL", 1}, {"GTI", 0.5},
	},
	regionSA: {{"TAM", 2}, {"GLO", 2}, {"LAN", 2}, {"AZU", 1}, {"ARG", 1}, {"AVA", 1}, {"CMP", 1}},
	regionAF: {{"ETH", 2}, {"SAA", 1}, {"MSR", 1}, {"RAM", 1}, {"KQA", 1}, {"DAH", 0.5}, {"TAR", 0.5}},
	regionME: {
		{"UAE", 3}, {"QTR", 3}, {"ETD", 2}, {"FDB", 1}, {"SVA", 1}, {"ELY", 1}, {"GFA", 0.5}, {"KAC", 0.5},
		{"OMA", 0.5}, {"RJA", 0.5}, {"IRA", 0.3},
	},
	regionAS: {
		{"JAL", 2}, {"ANA", 2}, {"KAL", 2}, {"CPA", 2}, {"SIA", 2}, {"AAR", 1}, {"EVA", 1}, {"CAL", 1},
		{"MAS", 1}, {"GIA", 1}, {"THA", 1}, {"HVN", 1}, {"CCA", 1}, {"CES", 1}, {"CSN", 1}, {"AIC", 1},
		{"IGO", 1}, {"PAL", 1}, {"AXM", 1}, {"CEB", 0.5}, {"JJA", 0.5},
	},
	regionOC: {{"QFA", 3}, {"VOZ", 2}, {"ANZ", 2}, {"JST", 1}, {"FJI", 0.5}},
}

// registrationPrefixes start general-aviation callsigns (registrations without the dash, as pilots type them)
// per region; the rest of the registration is random letters (digits after N, JA and HL).
var registrationPrefixes = [numRegions][]string{
	regionEU: {"G", "D", "F", "EC", "EI", "PH", "OO", "HB", "OE", "SE", "LN", "OY", "OH", "SP", "OK", "HA", "I"},
	regionNA: {"N", "N", "N", "N", "CG", "CF", "XA"},
	regionSA: {"PR", "PT", "CC", "LV"},
	regionAF: {"ZS", "5Y", "SU", "CN"},
	regionME: {"A6", "A7", "HZ", "4X"},
	regionAS: {"JA", "HL", "9V", "VT", "HS", "PK"},
	regionOC: {"VH", "ZK", "DQ"},
}

// acClass says who flies a type: it picks the callsign style and whether VFR is plausible.
type acClass uint8

const (
	classAirliner acClass = iota
	classCargo
	classBizjet
	classGA // light aircraft: registration callsigns, often VFR
)

// acType is an aircraft type with the performance the simulator flies it at.
type acType struct {
	icao    string // aircraft_short
	equip   string // ICAO equipment/surveillance codes: aircraft = icao + "/" + wake + "-" + equip
	wake    string // ICAO wake category
	faa     string // FAA equipment suffix: aircraft_faa = icao + "/" + faa (with an H/ prefix for heavies)
	tas     int    // cruise true airspeed, kt
	vLow    int    // ground speed just after take-off and just before landing, kt
	minAlt  int    // lowest cruise altitude filed, ft
	maxAlt  int    // highest cruise altitude filed, ft
	minDist float64
	maxDist float64 // NM: the type is picked only for routes in [minDist, maxDist]
	weight  float64
	class   acClass
}

// acTypes are the types most seen on the network, in roughly their real proportions.
var acTypes = [...]acType{
	{"B738", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1", "M", "L", 450, 150, 28000, 39000, 60, 3000, 14, classAirliner},
	{"A320", "SDE2E3FGHIJ1RWXY/LB1", "M", "L", 450, 145, 28000, 39000, 60, 3000, 10, classAirliner},
	{"A20N", "SDE2E3FGHIJ1J3J4J5M1RWXY/LB1", "M", "L", 450, 145, 30000, 39000, 60, 3300, 6, classAirliner},
	{"A321", "SDE2E3FGHIJ1RWXY/LB1", "M", "L", 450, 150, 30000, 39000, 100, 3100, 3, classAirliner},
	{"A21N", "SDE2E3FGHIJ1J3J4J5M1RWXY/LB1", "M", "L", 450, 150, 30000, 39000, 100, 3600, 3, classAirliner},
	{"A319", "SDE2E3FGHIJ1RWXY/LB1", "M", "L", 445, 140, 28000, 39000, 60, 3000, 2, classAirliner},
	{"B737", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1", "M", "L", 445, 145, 28000, 39000, 60, 3000, 3, classAirliner},
	{"B739", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1", "M", "L", 450, 150, 30000, 39000, 100, 3000, 2, classAirliner},
	{"B38M", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1", "M", "L", 450, 150, 30000, 41000, 100, 3500, 3, classAirliner},
	{"E75L", "SDE2E3FGHIJ1RWXY/LB1", "M", "L", 430, 135, 25000, 37000, 60, 2000, 2, classAirliner},
	{"CRJ9", "SDE2E3FGHIRWXY/LB1", "M", "L", 440, 140, 25000, 37000, 60, 1500, 1, classAirliner},
	{"CRJ7", "SDE2E3FGHIRWXY/LB1", "M", "L", 440, 140, 25000, 37000, 60, 1400, 1, classAirliner},
	{"AT76", "SDE3FGHIRWY/S", "M", "G", 275, 115, 17000, 25000, 40, 800, 2, classAirliner},
	{"DH8D", "SDE3FGHIRWY/S", "M", "G", 300, 120, 20000, 27000, 40, 1100, 1, classAirliner},
	{"B789", "SDE1E2E3FGHIJ2J3J4J5M1RWXYZ/LB1D1", "H", "L", 490, 155, 33000, 43000, 800, 7500, 3, classAirliner},
	{"B788", "SDE1E2E3FGHIJ2J3J4J5M1RWXYZ/LB1D1", "H", "L", 490, 150, 33000, 43000, 800, 7300, 3, classAirliner},
	{"B77W", "SDE1E2E3FGHIJ2J3J4J5M1RWXYZ/LB1D1", "H", "L", 490, 160, 31000, 41000, 1000, 7300, 3, classAirliner},
	{"A359", "SDE1E2E3FGHIJ1J3J4J5M1RWXYZ/LB1D1", "H", "L", 490, 150, 33000, 43000, 1000, 8000, 3, classAirliner},
	{"A339", "SDE1E2E3FGHIJ1J3J4J5M1RWXY/LB1D1", "H", "L", 475, 150, 31000, 41000, 800, 6500, 2, classAirliner},
	{"A333", "SDE1E2E3FGHIJ1J3J4J5M1RWXY/LB1D1", "H", "L", 475, 150, 31000, 41000, 800, 6000, 1, classAirliner},
	{"A388", "SDE1E2E3FGHIJ1J3J4J5M1RWXYZ/LB2D1", "J", "L", 490, 155, 33000, 43000, 1500, 8000, 1, classAirliner},
	{"B744", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1D1", "H", "L", 490, 160, 31000, 41000, 1500, 7000, 1, classAirliner},
	{"A346", "SDE2E3FGHIJ1J3J4J5M1RWXY/LB1D1", "H", "L", 480, 155, 31000, 41000, 1500, 7500, 0.5, classAirliner},
	{"B763", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1D1", "H", "L", 470, 150, 31000, 41000, 500, 5500, 1, classAirliner},
	{"B748", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1D1", "H", "L", 490, 160, 31000, 43000, 1000, 7500, 1, classCargo},
	{"B77L", "SDE1E2E3FGHIJ2J3J4J5M1RWXYZ/LB1D1", "H", "L", 490, 160, 31000, 41000, 1000, 8000, 1, classCargo},
	{"MD11", "SDE2E3FGHIJ2J3J4J5M1RWXY/LB1D1", "H", "L", 480, 160, 31000, 39000, 800, 6500, 0.5, classCargo},
	{"C700", "SDE2E3FGHIJ1RWXYZ/LB1", "M", "L", 460, 130, 37000, 45000, 150, 3500, 1, classBizjet},
	{"CL60", "SDE2E3FGHIJ1RWXY/LB1", "M", "L", 450, 130, 35000, 41000, 150, 3000, 0.5, classBizjet},
	{"C25C", "SDE2E3FGHIRWXY/LB1", "L", "L", 410, 115, 31000, 41000, 80, 1500, 0.5, classBizjet},
	{"TBM9", "SDFGIRWY/S", "L", "G", 300, 95, 20000, 31000, 60, 1400, 1, classBizjet},
	{"B350", "SDFGIRWY/S", "L", "G", 300, 110, 20000, 29000, 60, 1500, 0.5, classBizjet},
	{"C208", "SDFGRY/S", "L", "G", 170, 80, 8000, 12000, 30, 800, 0.5, classGA},
	{"C172", "SDFGRY/S", "L", "G", 110, 65, 3000, 9500, 20, 450, 2, classGA},
	{"PA28", "SDFGRY/S", "L", "G", 115, 65, 3000, 9500, 20, 450, 1, classGA},
	{"DA40", "SDFGRY/S", "L", "G", 130, 65, 3000, 9500, 20, 500, 0.5, classGA},
}

// server is one FSD server as listed in the feed's servers section.
type server struct {
	ident, ip, location string
	regions             []region // whose clients it mostly serves
}

// servers mirror the network's eight public FSD servers, but with documentation addresses (RFC 5737): a
// simulated feed must never send a consumer to a real host.
var servers = [...]server{
	{"USA-EAST", "192.0.2.10", "New York, USA", []region{regionNA, regionSA}},
	{"USA-EAST2", "192.0.2.11", "New York, USA", []region{regionNA, regionSA}},
	{"USA-WEST", "192.0.2.12", "San Francisco, USA", []region{regionNA, regionOC, regionAS}},
	{"CANADA", "198.51.100.10", "Toronto, Canada", []region{regionNA}},
	{"UK", "198.51.100.11", "London, UK", []region{regionEU, regionAF}},
	{"GERMANY", "203.0.113.10", "Frankfurt, Germany", []region{regionEU, regionME, regionAF}},
	{"GERMANY2", "203.0.113.11", "Frankfurt, Germany", []region{regionEU, regionME, regionAS}},
	{"AMSTERDAM", "203.0.113.12", "Amsterdam, Netherlands", []region{regionEU}},
}

// idName is an entry of the feed's facilities, ratings, pilot_ratings and military_ratings lists.
type idName struct {
	id          int
	short, long string
}

// The lists below are the feed's own reference tables, copied as the network publishes them.
var (
	facilities = [...]idName{
		{0, "OBS", "Observer"}, {1, "FSS", "Flight Service Station"}, {2, "DEL", "Clearance Delivery"},
		{3, "GND", "Ground"}, {4, "TWR", "Tower"}, {5, "APP", "Approach/Departure"}, {6, "CTR", "Enroute"},
	}
	ratings = [...]idName{
		{-1, "INAC", "Inactive"}, {0, "SUS", "Suspended"}, {1, "OBS", "Observer"}, {2, "S1", "Tower Trainee"},
		{3, "S2", "Tower Controller"}, {4, "S3", "Senior Student"}, {5, "C1", "Enroute Controller"},
		{6, "C2", "Controller 2 (not in use)"}, {7, "C3", "Senior Controller"}, {8, "I1", "Instructor"},
		{9, "I2", "Instructor 2 (not in use)"}, {10, "I3", "Senior Instructor"}, {11, "SUP", "Supervisor"},
		{12, "ADM", "Administrator"},
	}
	pilotRatings = [...]idName{
		{0, "NEW", "Basic Member"}, {1, "PPL", "Private Pilot License"}, {3, "IR", "Instrument Rating"},
		{7, "CMEL", "Commercial Multi-Engine License"}, {15, "ATPL", "Airline Transport Pilot License"},
		{31, "FI", "Flight Instructor"}, {63, "FE", "Flight Examiner"},
	}
	militaryRatings = [...]idName{
		{0, "M0", "No Military Rating"}, {1, "M1", "Military Pilot License"},
		{3, "M2", "Military Instrument Rating"}, {7, "M3", "Military Multi-Engine Rating"},
		{15, "M4", "Military Mission Ready Pilot"},
	}
)

// pilotRatingShares and militaryRatingShares give how members are rated: most are basic members, as in
// recorded snapshots.
var (
	pilotRatingShares    = [...]weighted[int]{{0, 89}, {1, 4}, {3, 2.5}, {7, 2}, {15, 2}, {31, 0.3}, {63, 0.2}}
	militaryRatingShares = [...]weighted[int]{{0, 99.4}, {1, 0.2}, {3, 0.1}, {15, 0.3}}
)

// weighted is a value with a relative weight, for small fixed distributions.
type weighted[T any] struct {
	v T
	w float64
}

// pickWeighted returns the value whose cumulative weight covers u*total (u in [0,1)).
func pickWeighted[T any](list []weighted[T], u float64) T {
	total := 0.0
	for _, e := range list {
		total += e.w
	}
	x := u * total
	for _, e := range list {
		if x < e.w {
			return e.v
		}
		x -= e.w
	}
	return list[len(list)-1].v
}

// remarksTail are the free-text parts pilots add after RMK/. Two carry a quote and a non-ASCII letter, which
// the encoder must escape or pass through exactly like the real feed.
var remarksTail = [...]string{
	"TCAS SIMBRIEF",
	"TCAS",
	"SIMBRIEF",
	"NEW PILOT PLEASE BE PATIENT",
	`CALLSIGN IS "SPEEDBIRD"`,
	"NEUE PILOTEN, WIR BITTEN UM VERSTÄNDNIS",
	"TCAS SIMBRIEF EFB",
	"STREAMING ON TWITCH",
	"CHARTS ON BOARD",
}

// atisInfixes and positionInfixes keep callsigns unique when a position is already staffed: real relief and
// split positions look like EGTT_S_CTR, HOU_38_CTR, CLT_NT_TWR or EGLL_N_APP.
var (
	positionInfixes = [...]string{"N", "S", "E", "W", "1", "2", "3", "C", "F", "L", "M", "U", "X"}
	usSectorInfixes = [...]string{"05", "12", "16", "20", "23", "38", "42", "46", "55", "63", "74", "88", "90"}
)
