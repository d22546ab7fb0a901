package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"hash/fnv"

	"github.com/vatsector/vatsector/repository"
)

// Page tokens are opaque to clients (AIP-158) but not secret: base64url of a small versioned JSON struct and a
// checksum. The checksum catches a token that was truncated or edited by hand; the filter fingerprint catches
// a token passed back with other filters than the request that produced it, which would make the keyset
// position meaningless. A token forged on purpose can only move the keyset position, which any client could
// ask for anyway.

// pageTokenVersion changes when the struct's meaning changes; tokens of another version are refused.
const pageTokenVersion = 1

// pageToken is the keyset position after the last item of a page.
type pageToken struct {
	Version int    `json:"v"`
	Filter  string `json:"f"`
	// Key and ID are the last item's (callsign, id), (sector id) or (sequence); with At, an occupant's
	// (entered_at in Unix nanoseconds, callsign, visit id).
	Key string `json:"k,omitempty"`
	ID  int64  `json:"i,omitempty"`
	At  int64  `json:"t,omitempty"`
}

// Page sizes (AIP-158): 0 is the method's default, above the maximum is lowered to it.
const (
	defaultPageSize        = 100
	maxPageSize            = 1000
	defaultSectorsPageSize = 500
	maxSectorsPageSize     = 5000
)

// pageSize resolves a requested page size; a negative one is refused by validation already.
func pageSize(requested int32, def, maximum int) int {
	switch {
	case requested <= 0:
		return def
	case int(requested) > maximum:
		return maximum
	}
	return int(requested)
}

// fingerprint identifies a method and its filters; parts must be given in a fixed order and normalised (for
// example sorted sets), so that equal filters give equal fingerprints. Parts are plain values (strings,
// numbers, booleans, slices of them; times as Unix microseconds): %#v of a pointer or a time.Time would differ
// between equal values.
func fingerprint(method string, parts ...any) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s", method)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%#v", p)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func encodePageToken(filter, key string, id int64) string {
	return encodeToken(pageToken{Filter: filter, Key: key, ID: id})
}

// encodeToken encodes t at the current version.
func encodeToken(t pageToken) string {
	t.Version = pageTokenVersion
	payload, _ := json.Marshal(t)
	payload = binary.BigEndian.AppendUint32(payload, crc32.ChecksumIEEE(payload))
	return base64.RawURLEncoding.EncodeToString(payload)
}

// decodePageToken returns nil for an empty token (the first page) and an INVALID_ARGUMENT domain error for a
// token this server did not produce for these filters.
func decodePageToken(raw, filter string) (*pageToken, error) {
	if raw == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < 5 {
		return nil, invalidf("page_token is malformed: pass back the next_page_token of the previous response unchanged")
	}
	payload, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(payload) != sum {
		return nil, invalidf("page_token is corrupted: pass back the next_page_token of the previous response unchanged")
	}
	var t pageToken
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, invalidf("page_token is malformed: pass back the next_page_token of the previous response unchanged")
	}
	if t.Version != pageTokenVersion {
		return nil, invalidf("page_token is from another server version (v%d): start again from the first page", t.Version)
	}
	if t.Filter != filter {
		return nil, invalidf("page_token was issued for a request with other filters: repeat the filters of the request that returned it")
	}
	return &t, nil
}

// keysetPage reads one page of a list ordered by (callsign, id): it resumes after the token's key, asks for one
// row more than the page (telling whether another page exists without a COUNT), and makes the next token from
// the page's last row.
func keysetPage[T any](token, fp string, size int32, key func(T) (string, int64),
	list func(after *repository.Key, limit int) ([]T, error),
) ([]T, string, error) {
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	var after *repository.Key
	if tok != nil {
		after = &repository.Key{Callsign: tok.Key, ID: tok.ID}
	}
	n := pageSize(size, defaultPageSize, maxPageSize)
	rows, err := list(after, n+1)
	if err != nil {
		return nil, "", err
	}
	if len(rows) <= n {
		return rows, "", nil
	}
	rows = rows[:n]
	callsign, id := key(rows[n-1])
	return rows, encodePageToken(fp, callsign, id), nil
}
