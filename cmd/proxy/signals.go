package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"waproxy/app"
	"waproxy/config"
)

// notifySignals routes SIGHUP (reload) and SIGINT/SIGTERM (stop) to a
// channel, so none of them kills the process. Call the returned func to
// restore the default handling.
func notifySignals() (<-chan os.Signal, func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	return sigs, func() { signal.Stop(sigs) }
}

// awaitStop serves until a listener fails (its error is returned), ctx
// ends or SIGINT/SIGTERM arrives; each SIGHUP meanwhile calls reload.
func awaitStop(ctx context.Context, sigs <-chan os.Signal, errc <-chan error, reload func(), log *zap.Logger) error {
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload()
				continue
			}
			log.Info("stop signal", zap.String("signal", sig.String()))
			return nil
		}
	}
}

// shutdownDelay waits delay (server.shutdown_delay) while the listeners
// keep serving and /readyz already answers 503, so load balancers take the
// instance out before the drain. A second SIGINT/SIGTERM ends it early;
// SIGHUP is ignored now.
func shutdownDelay(sigs <-chan os.Signal, delay time.Duration, log *zap.Logger) {
	if delay <= 0 {
		return
	}
	log.Info("readiness off; serving on before the drain", zap.Duration("shutdown_delay", delay))
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				log.Info("config reload ignored: shutting down")
				continue
			}
			log.Info("second stop signal: the rest of the shutdown delay is skipped", zap.String("signal", sig.String()))
			return
		}
	}
}

// reloadConfig re-reads the config file and applies it (app.Reload logs
// "config reloaded"); on any error the running config stays in force and
// "config reload failed" is logged.
func reloadConfig(ctx context.Context, a *app.App, path string, log *zap.Logger) {
	log.Info("reloading the config", zap.String("path", path))
	cfg, err := config.Load(path)
	if err == nil {
		err = a.Reload(ctx, cfg)
	}
	if err != nil {
		log.Error("config reload failed", zap.Error(err), zap.String("in_force", "the running config, unchanged"))
	}
}
