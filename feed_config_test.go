package main

import (
	"bytes"
	"testing"
	"time"
)

// TestFeedRequestOptions: --feed-timeout and --feed-retries (or their variables) reach the HTTP source, and
// --feed-retries 0 means no retry, not the source's default.
func TestFeedRequestOptions(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantTimeout time.Duration
		wantRetries int // HTTPOptions.Retries: negative is none
	}{
		{name: "defaults", wantTimeout: 10 * time.Second, wantRetries: 3},
		{name: "flags", args: []string{"--feed-timeout", "2500ms", "--feed-retries", "5"}, wantTimeout: 2500 * time.Millisecond, wantRetries: 5},
		{name: "environment", env: map[string]string{"VATSECTOR_FEED_TIMEOUT": "30s", "VATSECTOR_FEED_RETRIES": "1"}, wantTimeout: 30 * time.Second, wantRetries: 1},
		{name: "a flag wins over its variable", args: []string{"--feed-retries", "2"}, env: map[string]string{"VATSECTOR_FEED_RETRIES": "7"}, wantTimeout: 10 * time.Second, wantRetries: 2},
		{name: "no retries", args: []string{"--feed-retries", "0"}, wantTimeout: 10 * time.Second, wantRetries: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeConfig(tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			opts := cfg.httpOptions(nil)
			if opts.Timeout != tt.wantTimeout || opts.Retries != tt.wantRetries {
				t.Errorf("HTTPOptions timeout %v, retries %d; want %v, %d", opts.Timeout, opts.Retries, tt.wantTimeout, tt.wantRetries)
			}
		})
	}
}
