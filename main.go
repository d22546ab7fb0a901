// Command vatsector ingests the VATSIM network feed, tracks which airspace sectors each flight is in, and serves
// it over gRPC. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown; a second one, with the default handling restored, ends the
	// process at once (an operator who does not want to wait out --shutdown-wait and --shutdown-grace).
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vatsector:", err)
			os.Exit(1)
		}
	}
}

// run dispatches a command; serve is the default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServeConfig(args, getenv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, newLogger(cfg, stderr))
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "record":
		return record(ctx, args, getenv, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, stdout, stderr)
	case "help":
		_, err := parseServeConfig([]string{"-h"}, getenv, stderr)
		return err
	}
	return fmt.Errorf("unknown command %q: want serve, migrate, record or healthcheck (see --help)", cmd)
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
