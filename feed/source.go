package feed

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Source produces raw vatsim-data.json snapshots; the ingest loop decodes them and skips an update_timestamp it
// already ingested, so a source may return the same snapshot again.
//
// Every Source in this package returns uncompressed JSON (it decompresses gzip itself, within its size bound),
// so what it returns can be decoded, hashed or recorded alike.
type Source interface {
	Fetch(ctx context.Context) ([]byte, error) // io.EOF when a finite source (replay) is exhausted
	String() string                            // for logs
}

// ErrTooLarge is wrapped when a body or file exceeds its size bound once decompressed: it is an error, never a
// silent truncation, because a truncated snapshot would lose connections.
var ErrTooLarge = errors.New("snapshot exceeds the size limit")

// readAll reads r to the end, failing with ErrTooLarge past limit bytes. hint (a Content-Length or file size,
// <= 0 when unknown) sizes the buffer once instead of growing it through a 30 MB body.
func readAll(r io.Reader, limit, hint int64) ([]byte, error) {
	var buf bytes.Buffer
	if hint > 0 && hint <= limit {
		buf.Grow(int(hint) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// maybeGunzip returns a reader of r's content, decompressing it when it starts with the gzip magic bytes or
// when forced (a Content-Encoding or a .gz name said so). It also returns whether it decompresses.
func maybeGunzip(r io.Reader, force bool) (io.Reader, bool, error) {
	src := &endReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	if !force && !isGzip(magic) {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, true, gzipError(err, src.clean)
	}
	return gzipErrors{zr, src}, true, nil
}

// errBadGzip marks a corrupt gzip stream, as opposed to the transport failing under it.
var errBadGzip = errors.New("bad gzip stream")

// errTruncated marks a gzip stream that the body ended in the middle of (a missing trailer included): the
// server sent a cut-off file, which retrying the same file will not mend, unlike a dropped connection.
var errTruncated = errors.New("body truncated: the gzip stream stops before its end")

// endReader remembers whether its reader ended cleanly (io.EOF), so that a gzip stream cut short can be told
// from a transport failing under it: both reach the gzip reader's caller as io.ErrUnexpectedEOF.
type endReader struct {
	r     io.Reader
	clean bool
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.clean = errors.Is(err, io.EOF)
	return n, err
}

// gzipErrors tags the errors of a gzip stream that are about its content.
type gzipErrors struct {
	r   io.Reader
	src *endReader
}

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = gzipError(err, g.src.clean)
	}
	return n, err
}

// gzipError tags err when it is about the stream's content: corrupt, or cut short while the body itself ended
// cleanly (srcEnded). Anything else is left to be classified as the transport's.
func gzipError(err error, srcEnded bool) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("%w: %w", errBadGzip, err)
	case srcEnded && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)):
		return fmt.Errorf("%w: %w: %w", errBadGzip, errTruncated, err)
	}
	return err
}

func isCorruptGzip(err error) bool { return errors.Is(err, errBadGzip) }

// gunzipBytes decompresses a whole gzip payload within limit bytes.
func gunzipBytes(data []byte, limit int64) ([]byte, error) {
	// The whole stream is in memory: any error is its content's, and an early end is a truncation.
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, gzipContentError(err)
	}
	out, err := readAll(zr, limit, int64(len(data))*8)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		err = gzipContentError(err)
	}
	return out, err
}

func gzipContentError(err error) error {
	if err = gzipError(err, true); !isCorruptGzip(err) {
		err = fmt.Errorf("%w: %w", errBadGzip, err)
	}
	return err
}

// ReadGeneral reads the general object of a vatsim-data.json stream without decoding the rest: the feed writes
// general first, so only its first few KB are read. When general comes later it skips the values before it
// (reading further, still without building them). It does not validate what it returns; see CheckGeneral.
func ReadGeneral(r io.Reader) (General, error) {
	var g General
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return g, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return g, fmt.Errorf("not a JSON object (starts with %v)", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return g, fmt.Errorf("not JSON: %w", err)
		}
		key, _ := tok.(string)
		if strings.EqualFold(key, "general") { // encoding/json matches field names case-insensitively too
			if err := dec.Decode(&g); err != nil {
				return g, fmt.Errorf("general: %w", err)
			}
			return g, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return g, fmt.Errorf("not JSON: %w", err)
		}
	}
	return g, errors.New("no general object")
}

// CheckGeneral applies Decode's rules for the header alone: version 3 and an update_timestamp.
func CheckGeneral(g General) error {
	if g.Version != 3 {
		return fmt.Errorf("general.version is %d, want 3", g.Version)
	}
	if g.UpdateTimestamp.IsZero() {
		return errors.New("general.update_timestamp is missing")
	}
	return nil
}

// looksLikeSnapshot is the sources' plausibility check: a v3 header and well-formed JSON. It is what lets the
// HTTP source treat an HTML error page or a cut-off body from a mirror as that mirror's failure, rather than
// handing garbage to the loop. Field-level checks stay in Decode.
func looksLikeSnapshot(data []byte) (General, error) {
	g, err := ReadGeneral(bytes.NewReader(data))
	if err != nil {
		return g, err
	}
	if err := CheckGeneral(g); err != nil {
		return g, err
	}
	if !validJSON(data) {
		return g, errors.New("not valid JSON after the general object (truncated?)")
	}
	return g, nil
}
