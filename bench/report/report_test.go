package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const wrkOut = `Running 4s test @ http://127.0.0.1:18482
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    11.70ms    7.35ms  80.98ms   74.65%
    Req/Sec     2.86k   674.39     4.02k    68.75%
  22825 requests in 4.02s, 7.75MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   5677.41
Transfer/sec:      1.93MB
BENCH requests=22825 duration_us=4020316 errors_connect=0 errors_read=1 errors_write=0 errors_status=3 errors_timeout=0 p50_us=10482 p90_us=20985 p99_us=35597 p999_us=53571 max_us=80979 mean_us=11697.8
`

func TestParseWrk(t *testing.T) {
	w, err := ParseWrk(strings.NewReader(wrkOut))
	if err != nil {
		t.Fatal(err)
	}
	want := WrkResult{
		Requests: 22825, Duration: 4020316 * time.Microsecond, RPS: 5677.41,
		P50: 10482 * time.Microsecond, P90: 20985 * time.Microsecond, P99: 35597 * time.Microsecond,
		P999: 53571 * time.Microsecond, Max: 80979 * time.Microsecond, Mean: 11698 * time.Microsecond,
		ErrRead: 1, ErrStatus: 3, Connections: 64, Threads: 2,
	}
	if w != want {
		t.Errorf("ParseWrk =\n%+v, want\n%+v", w, want)
	}
	if w.Errors() != 4 {
		t.Errorf("Errors = %d, want 4", w.Errors())
	}

	// Without wrk's Requests/sec line the rate comes from the BENCH line.
	w, err = ParseWrk(strings.NewReader("BENCH requests=1000 duration_us=2000000 errors_connect=0 errors_read=0 errors_write=0 errors_status=0 errors_timeout=0 p50_us=1 p90_us=2 p99_us=3 p999_us=4 max_us=5 mean_us=1.5\n"))
	if err != nil || w.RPS != 500 {
		t.Errorf("RPS = %v (%v), want 500", w.RPS, err)
	}

	for name, in := range map[string]string{
		"no BENCH line":     "Requests/sec:   5677.41\n",
		"BENCH field short": "BENCH requests=1 duration_us=2\n",
		"BENCH not number":  strings.Replace(wrkOut, "p99_us=35597", "p99_us=x", 1),
		"bad Requests/sec":  strings.Replace(wrkOut, "5677.41", "many", 1),
	} {
		if _, err := ParseWrk(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// vegetaLine is one `vegeta encode -to csv` record.
func vegetaLine(ts int64, code int, latency time.Duration, errText string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{
		itoa(ts), itoa(int64(code)), itoa(int64(latency)), "288", "150", errText,
		"eyJtZXNzYWdpbmdfcHJvZHVjdCI6IndoYXRzYXBwIn0=", "", "0", "POST",
		"http://127.0.0.1:18481/v23.0/100000000000001/messages", "Q29udGVudC1MZW5ndGg6IDE1MA0KDQo=",
	})
	w.Flush()
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestParseVegetaCSV(t *testing.T) {
	var in strings.Builder
	start := int64(1796040828000000000)
	// 1,000 requests over 1 s (rate 1,000/s); latencies 1..1000 µs, out of
	// order; one transport error and one 500.
	for i := range 1000 {
		lat := time.Duration((i*7919)%1000+1) * time.Microsecond
		code, errText := 200, ""
		switch i {
		case 10:
			code, errText = 0, "Post \"http://x\": dial tcp: connection refused"
		case 20:
			code = 500
		}
		in.WriteString(vegetaLine(start+int64(i)*1001001, code, lat, errText))
	}
	v, err := ParseVegetaCSV(strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	if v.Requests != 1000 || v.Success != 998 {
		t.Errorf("requests %d success %d, want 1000 998", v.Requests, v.Success)
	}
	if v.P50 != 500*time.Microsecond || v.P90 != 900*time.Microsecond || v.P99 != 990*time.Microsecond ||
		v.P999 != 999*time.Microsecond || v.Max != 1000*time.Microsecond {
		t.Errorf("percentiles %v %v %v %v %v", v.P50, v.P90, v.P99, v.P999, v.Max)
	}
	if v.Rate < 998 || v.Rate > 1000 {
		t.Errorf("rate %.2f, want ≈ 999", v.Rate)
	}
	if len(v.Errors) != 2 || v.Errors["HTTP 500"] != 1 || v.Errors[`Post "http://x": dial tcp: connection refused`] != 1 {
		t.Errorf("errors %v", v.Errors)
	}

	for name, in := range map[string]string{
		"empty":       "",
		"few fields":  "1,200,3\n",
		"bad latency": "1,200,x,0,0,,\n",
	} {
		if _, err := ParseVegetaCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPercentile(t *testing.T) {
	if percentile(nil, 99) != 0 {
		t.Error("empty")
	}
	one := []time.Duration{7}
	for _, p := range []float64{0, 50, 99.9, 100} {
		if got := percentile(one, p); got != 7 {
			t.Errorf("percentile(one, %v) = %v", p, got)
		}
	}
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]time.Duration{50: 5, 90: 9, 99: 10, 99.9: 10, 10: 1, 11: 2} {
		if got := percentile(ten, p); got != want {
			t.Errorf("percentile(ten, %v) = %v, want %v", p, got, want)
		}
	}
}

const snapText = "time 1796040807.5\n" +
	"cpu cpu  165736 0 49391 255216 2105 7 2915 2139 0 0\n" +
	"proxy stat 21656 (proxy) S 21515 21512 6040 0 -1 4194304 3937 0 0 0 76 39 0 0 20 0 10 0 239494 1992351744 6676 18446744073709551615\n" +
	"proxy VmHWM:\t   49380 kB\n" +
	"proxy VmRSS:\t   31000 kB\n" +
	"caddy stat 99 (my (odd) name) R 1 1 1 0 -1 0 0 0 0 0 1000 234 0 0 20 0 10 0\n" +
	"caddy VmRSS:\t   100 kB\n"

func TestParseSnapshot(t *testing.T) {
	s, err := ParseSnapshot(strings.NewReader(snapText))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1796040807, 5e8); !s.Time.Equal(want) {
		t.Errorf("time %v, want %v", s.Time, want)
	}
	if s.CPU != (CPUTicks{Busy: 165736 + 49391 + 7 + 2915 + 2139, IRQ: 7 + 2915, Idle: 255216 + 2105, Present: true}) {
		t.Errorf("cpu %+v", s.CPU)
	}
	if p := s.Procs["proxy"]; p != (Proc{Ticks: 115, RSSkB: 31000, HWMkB: 49380, Exists: true}) {
		t.Errorf("proxy %+v", p)
	}
	if p := s.Procs["caddy"]; p != (Proc{Ticks: 1234, RSSkB: 100, Exists: true}) {
		t.Errorf("caddy %+v", p)
	}
	if _, ok := s.Procs["sim"]; ok {
		t.Error("sim present")
	}
	for name, in := range map[string]string{
		"bad time":  "time soon\n",
		"short cpu": "cpu cpu 1 2 3\n",
		"bad stat":  "proxy stat 1 proxy S\n",
		"bad rss":   "proxy VmRSS:\tlots kB\n",
	} {
		if _, err := ParseSnapshot(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseTime(t *testing.T) {
	if s, err := ParseTime([]byte("0.107 0.582\n")); err != nil || s < 0.6889 || s > 0.6891 {
		t.Errorf("ParseTime = %v, %v", s, err)
	}
	// wrk's own stderr may come first.
	if s, err := ParseTime([]byte("unable to connect\n1.5 0.5\n")); err != nil || s != 2 {
		t.Errorf("ParseTime after noise = %v, %v", s, err)
	}
	if _, err := ParseTime([]byte("1.5")); err == nil {
		t.Error("one field: no error")
	}
}

func TestParseHold(t *testing.T) {
	h, err := ParseHold([]byte("held=1000 ok=999 failed=1 alive=998 open_s=0.77 fds=1061 vmrss_kb=49380 vmhwm_kb=50000 first_error=\"dial tcp: too many open files\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := HoldResult{Held: 1000, OK: 999, Failed: 1, Alive: 998, FDs: 1061, RSSkB: 49380, HWMkB: 50000,
		FirstError: "dial tcp: too many open files"}
	if h != want {
		t.Errorf("ParseHold = %+v", h)
	}
	if _, err := ParseHold([]byte("held=1")); err == nil {
		t.Error("no rss: no error")
	}
}

func TestReplaceSection(t *testing.T) {
	got, err := ReplaceSection("", "table 1\n")
	if err != nil || got != BeginMarker+"\ntable 1\n"+EndMarker+"\n" {
		t.Errorf("empty doc: %q, %v", got, err)
	}
	doc := "# Benchmarks\n\nintro\n\n" + BeginMarker + "\nold table\n" + EndMarker + "\n\n## Analysis\n\nhand-written\n"
	got, err = ReplaceSection(doc, "new table\n\n")
	want := "# Benchmarks\n\nintro\n\n" + BeginMarker + "\nnew table\n" + EndMarker + "\n\n## Analysis\n\nhand-written\n"
	if err != nil || got != want {
		t.Errorf("replace:\n%s\nwant\n%s (%v)", got, want, err)
	}
	got, err = ReplaceSection("# B\nintro", "t")
	if err != nil || got != "# B\nintro\n\n"+BeginMarker+"\nt\n"+EndMarker+"\n" {
		t.Errorf("append: %q, %v", got, err)
	}
	for _, bad := range []string{BeginMarker + "\nx", "x\n" + EndMarker, EndMarker + "\n" + BeginMarker} {
		if _, err := ReplaceSection(bad, "t"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRender builds a run directory as bench/run leaves it and renders it.
func TestRender(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("params.txt", "started=2026-11-30 12:00 UTC\nloadavg_start=0.1 0.1 0.1\nconnections=64\nthreads=2\nduration_s=20\n"+
		"rate_percents=50 25\nrate_50=2000\nrate_25=1000\nbusy_duration_s=10\ncores=2\nclk_tck=100\nquiet_percent=10\nquiet_wait_max_s=120\n"+
		"quiet_wait_wrk-proxy=4\nquiet_wait_wrk-sim=0\nloadavg_end=1.0 0.5 0.2\n")
	write("machine.txt", "cpu: Test CPU\ncores: 2\nkernel: Linux 6.1\n")
	snap := func(name string, at float64, busy, procTicks int64, hwm int64) {
		var b strings.Builder
		b.WriteString("time " + itoa(int64(at)) + "\n")
		b.WriteString("cpu cpu  " + itoa(busy) + " 0 0 1000 0 0 " + itoa(busy/10) + " 0 0 0\n")
		for _, p := range []string{"sim", "proxy", "caddy"} {
			b.WriteString(p + " stat 1 (" + p + ") S 1 1 1 0 -1 0 0 0 0 0 " + itoa(procTicks) + " 0 0 0\n")
			b.WriteString(p + " VmRSS:\t " + itoa(hwm/2) + " kB\n" + p + " VmHWM:\t " + itoa(hwm) + " kB\n")
		}
		write(name, b.String())
	}
	bench := func(requests int, rps string) string {
		return "  2 threads and 64 connections\nRequests/sec: " + rps + "\nBENCH requests=" + itoa(int64(requests)) +
			" duration_us=20000000 errors_connect=0 errors_read=0 errors_write=0 errors_status=0 errors_timeout=0" +
			" p50_us=1000 p90_us=2000 p99_us=3000 p999_us=4000 max_us=5000 mean_us=1200\n"
	}
	for key, rps := range map[string]string{"sim": "10000", "proxy": "7000", "caddy": "6000"} {
		n := map[string]int{"sim": 200000, "proxy": 140000, "caddy": 120000}[key]
		write("wrk-"+key+".txt", bench(n, rps))
		write("wrk-"+key+".time", "1.0 2.0\n")
		snap("wrk-"+key+".before", 100, 1000, 100, 20000)
		snap("wrk-"+key+".after", 120, 4000, 100+14*100, 30000)
	}
	for _, pct := range []string{"50", "25"} {
		for key, lat := range map[string]time.Duration{"sim": 300 * time.Microsecond, "proxy": 700 * time.Microsecond} {
			if pct == "25" {
				lat /= 2
			}
			var b strings.Builder
			for i := range 100 {
				b.WriteString(vegetaLine(int64(i)*int64(time.Millisecond), 200, lat, ""))
			}
			name := "vegeta-" + key + "-" + pct
			write(name+".csv", b.String())
			snap(name+".before", 200, 1000, 0, 20000)
			snap(name+".after", 220, 2000, 50, 25000)
		}
	}
	write("idle-proxy.txt", "held=1000 ok=1000 failed=0 alive=1000 open_s=0.5 fds=1010 vmrss_kb=40960 vmhwm_kb=41000\n")
	snap("idle-proxy.before", 300, 1000, 0, 20480)
	snap("idle-proxy.after", 303, 1100, 10, 41000)
	write("busy-proxy.txt", strings.Replace(bench(50000, "5000"), "64 connections", "1000 connections", 1))
	snap("busy-proxy.before", 310, 1000, 0, 41000)
	snap("busy-proxy.after", 320, 3000, 900, 70000)
	write("relay.json", relayJSON)

	run, err := loadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	md := run.Markdown()
	for _, want := range []string{
		"| (a) simulator directly | 10000 | 1.00 ms | 3.00 ms | 4.00 ms | 0 | 0.070 | 29.3 MiB | 0.070 |",
		"| (b) waproxy → simulator | 7000 | ",
		"| b/a (waproxy ÷ simulator) | 0.70 | ≥ 0.60 | yes |",
		"| b/c (waproxy ÷ Caddy) | 1.17 | ≥ 1.00 | yes |",
		"### Latency at a constant rate: 2000 requests/s = 50 % of (b)'s peak (vegeta, 20 s, same payloads)",
		"### Latency at a constant rate: 1000 requests/s = 25 % of (b)'s peak",
		"| (b) waproxy → simulator | 1000 | 100.00 % | 0.70 ms |",
		"| (b) waproxy → simulator | 1000 | 100.00 % | 0.35 ms |",
		"Added p99 of waproxy (p99(b) − p99(a)): **0.40 ms** (target at 50 %: ≤ 1 ms: yes); added p50: 0.40 ms",
		"Added p99 of waproxy (p99(b) − p99(a)): **0.20 ms**; added p50: 0.20 ms",
		"| vegeta-proxy-50 | 20.0 | 11.00 |",
		"| vegeta-sim-25 | 20.0 | 11.00 |",
		"| 1000 of 1000 open | — | 10.0 MiB | 40.0 MiB | 40.0 MiB | ≤ 64 MiB | yes |",
		"| 1000 | 5000 | 20.0 MiB | 34.2 MiB | 68.4 MiB | ≤ 64 MiB | **no** |",
		"| wrk-proxy | 20.0 | 33.00 | 14.00 | 14.00 | 14.00 | 3.00 | 3.00 | 0.00 |",
		"- cpu: Test CPU",
		"waited: wrk-proxy 4 s.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// Both parts, the send path first.
	if i, j := strings.Index(md, SendHeading), strings.Index(md, RelayHeading); i != 0 || j < i {
		t.Errorf("parts out of order: send at %d, relay at %d", i, j)
	}
	if t.Failed() {
		t.Log(md)
	}

	// render writes results.md and the doc, keeping text around the markers.
	docPath := filepath.Join(dir, "docs", "benchmarks.md")
	if err := cmdRender([]string{"-out", dir, "-doc", docPath}); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(docPath)
	edited := strings.Replace(string(doc), EndMarker, EndMarker+"\n\n## Analysis\n\nkept", 1)
	os.WriteFile(docPath, []byte(edited), 0o644)
	if err := cmdRender([]string{"-out", dir, "-doc", docPath}); err != nil {
		t.Fatal(err)
	}
	doc, _ = os.ReadFile(docPath)
	if !strings.HasPrefix(string(doc), "# Benchmarks") || !strings.HasSuffix(string(doc), EndMarker+"\n\n## Analysis\n\nkept\n") ||
		strings.Count(string(doc), BeginMarker) != 1 {
		t.Errorf("doc after two renders:\n%s", doc)
	}
	if _, err := os.Stat(filepath.Join(dir, "results.md")); err != nil {
		t.Error(err)
	}
}
