package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
)

// timedSignal is a signal a test sends at an offset.
type timedSignal struct {
	at  time.Duration
	sig os.Signal
}

func TestShutdownDelay(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		// sigs are sent at the given offsets.
		sigs []timedSignal
		want time.Duration // how long shutdownDelay waited
	}{
		{"no delay", 0, nil, 0},
		{"the whole delay", 10 * time.Second, nil, 10 * time.Second},
		{"a second SIGTERM skips the rest", 10 * time.Second, []timedSignal{{3 * time.Second, syscall.SIGTERM}}, 3 * time.Second},
		{"a second SIGINT skips the rest", 10 * time.Second, []timedSignal{{time.Second, syscall.SIGINT}}, time.Second},
		{"SIGHUP does not", 10 * time.Second, []timedSignal{{2 * time.Second, syscall.SIGHUP}}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sigs := make(chan os.Signal, 4)
				for _, s := range tt.sigs {
					time.AfterFunc(s.at, func() { sigs <- s.sig })
				}
				start := time.Now()
				shutdownDelay(sigs, tt.delay, zap.NewNop())
				if got := time.Since(start); got != tt.want {
					t.Errorf("waited %s, want %s", got, tt.want)
				}
			})
		})
	}
}

func TestAwaitStop(t *testing.T) {
	listenerErr := errors.New("listener failed")
	tests := []struct {
		name        string
		send        func(sigs chan os.Signal, errc chan error, cancel context.CancelFunc)
		wantErr     error
		wantReloads int
	}{
		{"SIGTERM stops", func(s chan os.Signal, _ chan error, _ context.CancelFunc) { s <- syscall.SIGTERM }, nil, 0},
		{"SIGINT stops", func(s chan os.Signal, _ chan error, _ context.CancelFunc) { s <- syscall.SIGINT }, nil, 0},
		{"SIGHUPs reload, then SIGTERM stops", func(s chan os.Signal, _ chan error, _ context.CancelFunc) {
			s <- syscall.SIGHUP
			s <- syscall.SIGHUP
			s <- syscall.SIGTERM
		}, nil, 2},
		{"a listener error is returned", func(_ chan os.Signal, e chan error, _ context.CancelFunc) { e <- listenerErr }, listenerErr, 0},
		{"ctx ends", func(_ chan os.Signal, _ chan error, cancel context.CancelFunc) { cancel() }, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				sigs, errc := make(chan os.Signal, 4), make(chan error, 1)
				reloads := 0
				go tt.send(sigs, errc, cancel)
				err := awaitStop(ctx, sigs, errc, func() { reloads++ }, zap.NewNop())
				if !errors.Is(err, tt.wantErr) || reloads != tt.wantReloads {
					t.Errorf("err %v, %d reloads; want %v, %d", err, reloads, tt.wantErr, tt.wantReloads)
				}
			})
		})
	}
}
