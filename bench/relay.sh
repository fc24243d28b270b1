#!/usr/bin/env bash
# bench/relay.sh — the webhook relay measured through the whole proxy process.
#
# Builds cmd/proxy and bench/relayload, writes a config with one tenant
# whose webhook url is relayload's receiver (app_secret, callback_secret,
# webhooks.store_path in a fresh temp dir, the product's durable store:
# fsync on every group commit), starts the proxy (log_level warn, embedded
# Gupshup: nothing is sent upstream), and runs relayload against it:
# N senders (default 32) POST unique Gupshup v3 status callbacks to
# POST /gupshup/callbacks/{app} with the secret header; the proxy answers
# 200 once the event is stored durably, then signs and delivers it to the
# receiver, which checks X-Hub-Signature-256. relayload reads the proxy's
# CPU (/proc/<pid>/stat) and peak RSS (VmHWM, /proc/<pid>/status) over the
# measured phase. The proxy is stopped with SIGTERM afterwards.
#
# Usage: bench/relay.sh            (no arguments; knobs are env variables)
#   RELAY_EVENTS=50000     measured events (ignored with RELAY_DURATION)
#   RELAY_DURATION=        e.g. 20s: send for that long instead
#   RELAY_SENDERS=32       concurrent senders (connections to the intake)
#   RELAY_WARMUP=2000      events sent and delivered before measuring
#   RELAY_CONCURRENCY=     webhooks.concurrency (deliveries in flight);
#                          empty = the product default (16)
#   RELAY_PPROF=           1: build the proxy with net/http/pprof (a build
#                          overlay; no source file changes) and save CPU,
#                          block and mutex profiles of the measured phase
#                          to bench/out/relay.{cpu,block,mutex}.pprof
#   RELAY_PPROF_SECONDS=10 length of the CPU profile
#   RELAY_OUT=bench/out/relay.json
#   RELAY_TMPDIR=$TMPDIR   where the store lives (settings.proxy.store_fs
#                          records its file system; on tmpfs fsync is free
#                          and the result is not the durable number)
#
# Output: one JSON object on stdout and in $RELAY_OUT (exit status 0 even
# when the target is missed; non-zero when the run itself failed):
#   tool, time                "relayload", RFC 3339 start
#   machine                   {cpu, cores, kernel, go}
#   settings                  {intake, senders, events, duration_s, warmup,
#                              callback_bytes, status_mix, drain_timeout_s,
#                              proxy: {webhooks_concurrency, fsync, store_fs,
#                              log_level, build}}
#   complete                  every accepted event was delivered in time
#   sent, accepted            measured requests; those answered 200
#   rejected                  {"http_503": n, "transport_error": n, ...}
#   accepted_per_s            accepted / (first request .. last 200): durable
#                             callbacks per second
#   ack_ms                    intake answer latency of the 200s, ms:
#                             {n, mean, p50, p90, p99, p99_9, max}
#   delivered, missing        accepted events delivered (first time); not
#   delivered_per_s           delivered / (first .. last delivery)
#   end_to_end_per_s          delivered / (first request .. last delivery)
#   end_to_end_ms             callback sent -> signed webhook received, ms
#   valid_signatures, invalid_signatures, duplicates, unknown
#                             receiver counts over the whole run (warm-up
#                             included): X-Hub-Signature-256 right/wrong,
#                             events delivered more than once, bodies of
#                             no event of this run
#   backlog_max               most accepted-but-undelivered at a second's end
#   send_s, drain_s           sending time; wait for the rest after it
#   proxy                     {pid, cpu_user_s, cpu_sys_s, cpu_s,
#                              cpu_s_per_1k_events, cpu_cores (cpu_s/window),
#                              rss_peak_mb (VmHWM), rss_end_mb, window_s}
#                             window = first request .. last delivery
#   generator                 relayload's own {cpu_s, cpu_s_per_1k_events,
#                              cpu_cores, window_s}: it shares the machine
#   machine_cpu               the whole machine over the same window, from
#                             /proc/stat, in cores: {cores, busy_cores,
#                             irq_cores (irq+softirq), iowait_cores,
#                             window_s}; busy minus proxy, generator and irq
#                             is what other processes took
#   target_per_s, target_met  5000; met when complete, no bad signature and
#                             accepted_per_s and delivered_per_s both reach it
#   sync_probe                {before_ms, after_ms}: latency summaries (as
#                             ack_ms) of a 4 KiB write + fsync in the store's
#                             directory just before and after the load; a
#                             bbolt commit costs two such syncs, so this
#                             explains most run-to-run variance
#   profiles                  profile files written (RELAY_PPROF=1)
#   timeline                  [{s, accepted, delivered, backlog}] per second
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
out=${RELAY_OUT:-bench/out/relay.json}
mkdir -p "$(dirname "$out")"

work=$(mktemp -d "${RELAY_TMPDIR:-${TMPDIR:-/tmp}}/waproxy-relay.XXXXXX")
proxy_pid=
cleanup() {
	if [[ -n $proxy_pid ]] && kill -0 "$proxy_pid" 2>/dev/null; then
		kill -TERM "$proxy_pid" 2>/dev/null || true
		wait "$proxy_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

build=plain
buildflags=()
if [[ -n ${RELAY_PPROF:-} ]]; then
	build=pprof
	cat >"$work/pprof.go" <<'EOF'
package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
)

// Added by bench/relay.sh through -overlay (RELAY_PPROF=1) only.
func init() {
	if addr := os.Getenv("WAPROXY_BENCH_PPROF"); addr != "" {
		runtime.SetBlockProfileRate(100000) // one sample per 100µs blocked
		runtime.SetMutexProfileFraction(10)
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
EOF
	printf '{"Replace":{"%s/cmd/proxy/zz_bench_pprof.go":"%s/pprof.go"}}\n' "$root" "$work" >"$work/overlay.json"
	buildflags=(-overlay "$work/overlay.json")
fi

echo "relay.sh: building proxy ($build) and relayload" >&2
go build "${buildflags[@]}" -o "$work/proxy" ./cmd/proxy
go build -o "$work/relayload" ./bench/relayload

read -r proxy_port recv_port pprof_port < <("$work/relayload" -free-ports 3)
app_id=bench-app-1
callback_secret=bench-callback-secret-$RANDOM$RANDOM
app_secret=bench-app-secret-$RANDOM$RANDOM
mkdir -p "$work/store"
store_fs=$(stat -f -c %T "$work/store" 2>/dev/null || echo unknown)
if [[ $store_fs == tmpfs || $store_fs == ramfs ]]; then
	echo "relay.sh: warning: the store is on $store_fs, where fsync costs nothing; set RELAY_TMPDIR to a disk" >&2
fi

concurrency_line=
if [[ -n ${RELAY_CONCURRENCY:-} ]]; then
	concurrency_line="  concurrency: ${RELAY_CONCURRENCY}"
fi
cat >"$work/config.yaml" <<EOF
listen: "127.0.0.1:${proxy_port}"
log_level: warn
gupshup:
  base_url: embedded
webhooks:
  store_path: "$work/store/waproxy.db"
  verify_on_start: false
${concurrency_line}
tenants:
  - name: bench
    tokens: ["bench-client-token"]
    webhook:
      url: "http://127.0.0.1:${recv_port}/webhook"
      app_secret: "${app_secret}"
    phone_numbers:
      - id: "100000000000001"
        app_id: "${app_id}"
        app_name: "BenchApp"
        app_token: "sk_bench_app_token"
        callback_secret: "${callback_secret}"
        waba_id: "200000000000001"
EOF
"$work/proxy" check -config "$work/config.yaml" >/dev/null

pprof_env=()
relay_pprof=()
if [[ $build == pprof ]]; then
	pprof_env=(WAPROXY_BENCH_PPROF="127.0.0.1:${pprof_port}")
	relay_pprof=(-pprof "http://127.0.0.1:${pprof_port}" -pprof-out "$(dirname "$out")/relay"
		-pprof-seconds "${RELAY_PPROF_SECONDS:-10}")
fi
env "${pprof_env[@]}" "$work/proxy" serve -config "$work/config.yaml" 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 200); do
	if (exec 3<>"/dev/tcp/127.0.0.1/${proxy_port}") 2>/dev/null; then
		break
	fi
	if ! kill -0 "$proxy_pid" 2>/dev/null; then
		cat "$work/proxy.log" >&2
		echo "relay.sh: the proxy exited" >&2
		exit 1
	fi
	sleep 0.05
done

load=(-events "${RELAY_EVENTS:-50000}")
if [[ -n ${RELAY_DURATION:-} ]]; then
	load=(-duration "$RELAY_DURATION")
fi
status=0
"$work/relayload" \
	-intake "http://127.0.0.1:${proxy_port}/gupshup/callbacks/${app_id}" \
	-secret-header X-Waproxy-Secret -callback-secret "$callback_secret" -app-secret "$app_secret" \
	-receiver "127.0.0.1:${recv_port}" -pid "$proxy_pid" -sync-probe "$work/store" \
	-senders "${RELAY_SENDERS:-32}" -warmup "${RELAY_WARMUP:-2000}" "${load[@]}" "${relay_pprof[@]}" \
	-set "webhooks_concurrency=${RELAY_CONCURRENCY:-16 (default)}" -set fsync=true \
	-set "store_fs=${store_fs}" -set log_level=warn -set "build=${build}" \
	-o "$out" || status=$?

kill -TERM "$proxy_pid"
wait "$proxy_pid" || true
proxy_pid=
if [[ $status -ne 0 ]] || [[ -s $work/proxy.log && ${RELAY_SHOW_LOG:-} == 1 ]]; then
	echo "relay.sh: proxy log:" >&2
	tail -n 50 "$work/proxy.log" >&2
fi
if [[ $status -eq 0 ]]; then
	echo "relay.sh: wrote $out" >&2
fi
exit "$status"
