package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// relayJSON is bench/relay.sh's output (timeline shortened).
const relayJSON = `{
  "tool": "relayload",
  "time": "2026-11-30T12:28:33Z",
  "machine": {"cpu": "AMD EPYC", "cores": 2, "kernel": "6.18.44", "go": "go1.26.8"},
  "settings": {
    "intake": "http://127.0.0.1:36137/gupshup/callbacks/bench-app-1",
    "senders": 32, "events": 30000, "duration_s": 0, "warmup": 2000, "callback_bytes": 672,
    "status_mix": ["sent", "delivered", "read"], "drain_timeout_s": 120,
    "proxy": {"build": "plain", "fsync": "true", "log_level": "warn", "store_fs": "ext2/ext3", "webhooks_concurrency": "4 (default)"}
  },
  "complete": true,
  "sent": 30000,
  "accepted": 29990,
  "rejected": {"http_503": 7, "transport_error": 3},
  "accepted_per_s": 2787,
  "ack_ms": {"n": 29990, "mean": 11.455, "p50": 9.699, "p90": 18.709, "p99": 43.259, "p99_9": 115.071, "max": 123.448},
  "delivered": 29990,
  "missing": 0,
  "delivered_per_s": 2497,
  "end_to_end_per_s": 2493.9,
  "end_to_end_ms": {"n": 29990, "mean": 820.322, "p50": 601.863, "p90": 1684.714, "p99": 1804.571, "p99_9": 1819.806, "max": 1825.635},
  "valid_signatures": 31990, "invalid_signatures": 0, "duplicates": 0, "unknown": 0,
  "backlog_max": 5656,
  "send_s": 10.776, "drain_s": 1.256,
  "proxy": {"pid": 3452, "cpu_user_s": 7.46, "cpu_sys_s": 3.74, "cpu_s": 11.2, "cpu_s_per_1k_events": 0.3733,
    "cpu_cores": 0.93, "rss_peak_mb": 48.5, "rss_end_mb": 47.3, "window_s": 12.031},
  "generator": {"cpu_s": 5.62, "cpu_s_per_1k_events": 0.1873, "cpu_cores": 0.47, "window_s": 12.031},
  "machine_cpu": {"cores": 2, "busy_cores": 1.8, "irq_cores": 0.2, "iowait_cores": 0.05, "window_s": 12.031},
  "target_per_s": 5000,
  "target_met": false,
  "sync_probe": {
    "before_ms": {"n": 200, "mean": 0.138, "p50": 0.13, "p90": 0.158, "p99": 0.252, "p99_9": 0.569, "max": 0.569},
    "after_ms": {"n": 200, "mean": 0.206, "p50": 0.186, "p90": 0.314, "p99": 0.54, "p99_9": 0.649, "max": 0.649}
  },
  "timeline": [{"s": 1, "accepted": 2175, "delivered": 1602, "backlog": 573}]
}
`

func TestParseRelay(t *testing.T) {
	r, err := ParseRelay(strings.NewReader(relayJSON))
	if err != nil {
		t.Fatal(err)
	}
	if r.AcceptedPerS != 2787 || r.AckMS.P999 != 115.071 || r.DeliveredPerS != 2497 || r.Proxy == nil ||
		r.Proxy.CPUPer1k != 0.3733 || r.Proxy.RSSPeakMB != 48.5 || r.Rejected["http_503"] != 7 ||
		r.Settings.Proxy["store_fs"] != "ext2/ext3" || r.SyncProbe == nil || r.SyncProbe.After.P50 != 0.186 ||
		r.TargetMet || r.TargetPerS != 5000 {
		t.Errorf("ParseRelay = %+v", r)
	}
	for name, in := range map[string]string{
		"not json":   "relay: failed\n",
		"other tool": `{"tool":"wrk"}`,
	} {
		if _, err := ParseRelay(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRelayMarkdown(t *testing.T) {
	r, err := ParseRelay(strings.NewReader(relayJSON))
	if err != nil {
		t.Fatal(err)
	}
	md := RelayMarkdown(r)
	for _, want := range []string{
		RelayHeading + "\n\nRun 2026-11-30 12:28 UTC with `bench/run` (`bench/relay.sh`), on AMD EPYC, 2 cores, Linux 6.18.44, go1.26.8.",
		"32 concurrent senders POST 30,000 events (after 2,000 unmeasured)",
		"(sent, delivered, read; 672 bytes)",
		"(bbolt, fsync on every commit, store on ext2/ext3)",
		"`webhooks.concurrency` 4 (default)",
		"| target ≥ 5,000 events/s |\n|---:|",
		"| 2787 | 9.70 ms | 43.26 ms | 115 ms | 2497 | 2494 | 602 ms / 1805 ms | 0.373 | 48.5 MiB | 0 | 0 | **no** |",
		"**not met** (accepted 2787/s = 56 % of it; delivered 2497/s = 50 % of it)",
		"29,990 of 30,000 callbacks accepted (rejected: 7 × http_503, 3 × transport_error), 29,990 delivered, 0 missing",
		"at most 5,656 accepted events waiting",
		"The proxy used 0.93 cores (11.20 CPU s over 12.0 s)",
		"relayload, on the same machine) 0.47 cores (0.187 CPU s / 1,000 events)",
		"took 0.13 ms at p50 (p99 0.25 ms) before the load and 0.19 ms (p99 0.54 ms) after it",
		"The machine was 1.80 of its 2 cores busy (kernel irq/softirq 0.20, other processes 0.20; iowait 0.05).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("relay markdown lacks %q", want)
		}
	}

	// Met; a run by duration; incomplete and badly signed runs say why.
	r.AcceptedPerS, r.DeliveredPerS, r.TargetMet = 6100, 5900, true
	r.Settings.DurationS = 20
	r.Settings.Proxy["build"] = "pprof"
	md = RelayMarkdown(r)
	for _, want := range []string{"POST 20 s of events", "`log_level` warn; proxy build: pprof)", "| yes |", "Target ≥ 5,000 events/s durable: met (accepted 6100/s, delivered 5900/s)."} {
		if !strings.Contains(md, want) {
			t.Errorf("met: markdown lacks %q", want)
		}
	}
	r.TargetMet, r.Complete, r.Missing, r.InvalidSignatures = false, false, 12, 2
	md = RelayMarkdown(r)
	if want := "**not met** (12 accepted events not delivered in time; 2 invalid signatures)"; !strings.Contains(md, want) {
		t.Errorf("incomplete: markdown lacks %q\n%s", want, md)
	}
	r.Proxy, r.SyncProbe = nil, nil
	md = RelayMarkdown(r)
	if !strings.Contains(md, "| — | — | 2 | 0 |") || strings.Contains(md, "The proxy used") || strings.Contains(md, "fsync in the store") ||
		strings.Contains(md, "The machine was") {
		t.Errorf("without proxy stats:\n%s", md)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -5000: "-5,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMergeParts(t *testing.T) {
	prev := "\n" + SendHeading + "\n\nold send\n\n" + RelayHeading + "\n\nold relay\n"
	parts := SplitParts(prev)
	if parts["send"] != SendHeading+"\n\nold send\n" || parts["relay"] != RelayHeading+"\n\nold relay\n" {
		t.Errorf("SplitParts = %q", parts)
	}
	for name, c := range map[string]struct {
		prev     string
		measured map[string]string
		want     string
	}{
		"both new": {prev, map[string]string{"relay": RelayHeading + "\n\nnew relay\n\n", "send": SendHeading + "\n\nnew send\n"},
			SendHeading + "\n\nnew send\n\n" + RelayHeading + "\n\nnew relay\n"},
		"relay only keeps send": {prev, map[string]string{"relay": RelayHeading + "\n\nnew relay\n"},
			SendHeading + "\n\nold send\n\n" + RelayHeading + "\n\nnew relay\n"},
		"send only keeps relay": {prev, map[string]string{"send": SendHeading + "\n\nnew send\n"},
			SendHeading + "\n\nnew send\n\n" + RelayHeading + "\n\nold relay\n"},
		"nothing before": {"", map[string]string{"relay": RelayHeading + "\n\nnew relay\n"}, RelayHeading + "\n\nnew relay\n"},
		"old doc without relay": {"\n" + SendHeading + "\n\nold send\n", map[string]string{"relay": RelayHeading + "\n\nr\n"},
			SendHeading + "\n\nold send\n\n" + RelayHeading + "\n\nr\n"},
	} {
		if got := MergeParts(c.prev, c.measured); got != c.want {
			t.Errorf("%s:\n%q\nwant\n%q", name, got, c.want)
		}
	}

	if s, err := Section("intro\n" + BeginMarker + "\nX\n" + EndMarker + "\nafter"); err != nil || s != "\nX\n" {
		t.Errorf("Section = %q, %v", s, err)
	}
	if s, err := Section("no markers"); err != nil || s != "" {
		t.Errorf("Section without markers = %q, %v", s, err)
	}
	if _, err := Section(EndMarker + BeginMarker); err == nil {
		t.Error("markers out of order: no error")
	}
}

// TestRenderRelayOnly renders a run directory holding only relay.json
// (BENCH_PARTS=relay) into a doc whose send part must survive.
func TestRenderRelayOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "relay.json"), []byte(relayJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "params.txt"), []byte("started=2026-11-30 12:00 UTC\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "machine.txt"), []byte("cpu: AMD EPYC\n"), 0o644)
	docPath := filepath.Join(dir, "benchmarks.md")
	doc := "# Benchmarks\n\nintro\n\n" + BeginMarker + "\n" + SendHeading + "\n\nsend table\n" + EndMarker + "\n\n## Analysis\n\nkept\n"
	if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmdRender([]string{"-out", dir, "-doc", docPath}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(docPath)
	s := string(got)
	if !strings.HasPrefix(s, "# Benchmarks\n\nintro\n\n"+BeginMarker+"\n"+SendHeading+"\n\nsend table\n\n"+RelayHeading+"\n\nRun 2026-11-30 12:28 UTC") ||
		!strings.HasSuffix(s, "\n"+EndMarker+"\n\n## Analysis\n\nkept\n") {
		t.Errorf("doc:\n%s", s)
	}
	res, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if strings.Contains(string(res), SendHeading) || !strings.Contains(string(res), RelayHeading) {
		t.Errorf("results.md:\n%s", res)
	}

	// An empty directory is an error.
	if err := cmdRender([]string{"-out", t.TempDir()}); err == nil {
		t.Error("empty run directory: no error")
	}
}
