// Package web holds the map page served at / by the service: its sources (src/, built with Vite by
// scripts/web-build.sh) and the built assets in dist/, which are committed and embedded here so the binary
// serves the page with no files beside it and no network access (no CDN, no tile server).
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Assets is the built page, rooted at dist/: index.html at its top and the scripts and styles under assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "dist" is a valid one: this cannot happen.
		panic(err)
	}
	return sub
}
