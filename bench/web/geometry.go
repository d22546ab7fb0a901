package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// geometryResult is GET /v1/sectors:geojson at one tolerance.
type geometryResult struct {
	tolerance     float64
	features      int
	points        int
	bytes         int // identity body
	gzipBytes     int // body with Accept-Encoding: gzip, as sent (equal to bytes when not compressed)
	gzipEncoding  string
	contentType   string
	first         time.Duration // the first request at this tolerance (uncached)
	cachedP50     time.Duration // identity
	cachedP99     time.Duration
	cachedGzipP50 time.Duration
	requests      int
}

func geometryURL(base string, tolerance float64) string {
	return base + "/v1/sectors:geojson?tolerance_deg=" + strconv.FormatFloat(tolerance, 'f', -1, 64)
}

// getGeometry GETs the GeoJSON, with Accept-Encoding: gzip or without any; the body is returned as sent.
func getGeometry(ctx context.Context, hc *http.Client, url string, gz bool) ([]byte, http.Header, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	_ = resp.Body.Close()
	if err != nil {
		return nil, nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, 0, fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return body, resp.Header, took, nil
}

// measureGeometry asks for every tolerance once (uncached: nothing asked for the geometry before), then
// o.geomCalls times each, alternating plain and gzip requests.
func measureGeometry(ctx context.Context, e *env, o options) ([]geometryResult, bool, error) {
	tr := http1Transport(&atomic.Int64{})
	tr.DisableCompression = true // Accept-Encoding is the bench's to set, and bodies are read as sent
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	compressed := false
	var out []geometryResult
	for _, tol := range o.tolerances {
		url := geometryURL(e.base, tol)
		body, hdr, first, err := getGeometry(ctx, hc, url, false)
		if err != nil {
			return nil, false, err
		}
		g := geometryResult{tolerance: tol, bytes: len(body), first: first, contentType: hdr.Get("Content-Type"), requests: o.geomCalls}
		if hdr.Get("Content-Encoding") != "" {
			return nil, false, fmt.Errorf("GET %s without Accept-Encoding: Content-Encoding %q", url, hdr.Get("Content-Encoding"))
		}
		if g.features, g.points, err = countFeatures(body); err != nil {
			return nil, false, fmt.Errorf("GET %s: %w", url, err)
		}
		var plain, gzipped []time.Duration
		for i := range 2 * o.geomCalls {
			gz := i%2 == 1
			b, h, took, err := getGeometry(ctx, hc, url, gz)
			if err != nil {
				return nil, false, err
			}
			if !gz {
				if !bytes.Equal(b, body) {
					return nil, false, fmt.Errorf("GET %s: a cached answer differs from the first", url)
				}
				plain = append(plain, took)
				continue
			}
			gzipped = append(gzipped, took)
			g.gzipBytes, g.gzipEncoding = len(b), h.Get("Content-Encoding")
			if g.gzipEncoding == "gzip" {
				compressed = true
				r, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					return nil, false, err
				}
				unz, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(unz, body) {
					return nil, false, fmt.Errorf("GET %s: the gzip body does not decompress to the plain one (%v)", url, err)
				}
			}
		}
		g.cachedP50, g.cachedP99, g.cachedGzipP50 = percentile(plain, 50), percentile(plain, 99), percentile(gzipped, 50)
		out = append(out, g)
	}
	return out, compressed, nil
}

// countFeatures counts the FeatureCollection's features and their points.
func countFeatures(body []byte) (features, points int, err error) {
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates [][][][]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		return 0, 0, err
	}
	if fc.Type != "FeatureCollection" {
		return 0, 0, fmt.Errorf("type %q, want FeatureCollection", fc.Type)
	}
	for _, f := range fc.Features {
		if f.Geometry.Type != "MultiPolygon" {
			return 0, 0, fmt.Errorf("geometry %q, want MultiPolygon", f.Geometry.Type)
		}
		for _, poly := range f.Geometry.Coordinates {
			for _, ring := range poly {
				points += len(ring)
			}
		}
	}
	return len(fc.Features), points, nil
}
