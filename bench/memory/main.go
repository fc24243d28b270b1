// Command memory measures the proxy's memory under bursts of large
// requests: it runs the proxy binary (a fresh store, one tenant with a
// webhook to a local receiver that answers 200, Go's profiler on a loopback
// listener) in front of the fast simulator, then
//
//  1. fires -sends concurrent sends of -send-bytes each (a text message),
//  2. fires -callbacks concurrent Gupshup v3 callbacks of -callback-bytes
//     each (an inbound text message) to the intake, with the app's
//     callback secret header,
//
// and after each burst forces a collection (GET /debug/pprof/heap?gc=1)
// and reads the Go heap (/metrics) and RSS. RSS comes from
// /proc/<pid>/status: VmHWM (the peak; reset before each burst through
// /proc/<pid>/clear_refs when allowed) and VmRSS, sampled every 10 ms. It
// prints one table and counts answers by status: 503 is the overload
// answer of server.max_in_flight / server.max_buffered_bytes.
//
// bench/memory.sh builds the binaries and runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	token    = "EAAG-memory-bench-token"
	phoneID  = "106540352242922"
	appID    = "memory-bench-app"
	cbSecret = "memory-bench-callback-secret"
	waba     = "102290129340398"
)

func main() {
	proxyBin := flag.String("proxy", "", "proxy binary (go build ./cmd/proxy)")
	simBin := flag.String("sim", "", "simulator binary (go build ./cmd/gupshup-sim), run with -fast")
	sends := flag.Int("sends", 200, "concurrent sends")
	sendBytes := flag.Int("send-bytes", 1_000_000, "bytes of each send body")
	callbacks := flag.Int("callbacks", 200, "concurrent callbacks")
	cbBytes := flag.Int("callback-bytes", 3_000_000, "bytes of each callback body")
	maxBuffered := flag.Int64("max-buffered-bytes", 0, "server.max_buffered_bytes (0: the default)")
	maxInFlight := flag.Int("max-in-flight", 0, "server.max_in_flight (0: the default)")
	flag.StringVar(&heapDir, "heap-profiles", "", "directory to save the heap profile taken after each burst's collection (go tool pprof)")
	flag.Parse()
	if *proxyBin == "" || *simBin == "" {
		fmt.Fprintln(os.Stderr, "usage: memory -proxy BIN -sim BIN [flags]")
		os.Exit(2)
	}
	if err := run(*proxyBin, *simBin, *sends, *sendBytes, *callbacks, *cbBytes, *maxBuffered, *maxInFlight); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

// heapDir is -heap-profiles.
var heapDir string

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func run(proxyBin, simBin string, sends, sendBytes, callbacks, cbBytes int, maxBuffered int64, maxInFlight int) error {
	dir, err := os.MkdirTemp("", "waproxy-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var addrs [4]string
	for i := range addrs {
		if addrs[i], err = freePort(); err != nil {
			return err
		}
	}
	simAddr, proxyAddr, pprofAddr, recvAddr := addrs[0], addrs[1], addrs[2], addrs[3]

	// The tenant's webhook: answers 200 to everything.
	recv := &http.Server{Addr: recvAddr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})}
	go func() { _ = recv.ListenAndServe() }()
	defer recv.Close()

	limits := ""
	if maxBuffered != 0 || maxInFlight != 0 {
		limits = "server:\n"
		if maxBuffered != 0 {
			limits += fmt.Sprintf("  max_buffered_bytes: %d\n", maxBuffered)
		}
		if maxInFlight != 0 {
			limits += fmt.Sprintf("  max_in_flight: %d\n", maxInFlight)
		}
	}
	cfg := fmt.Sprintf(`listen: %s
log_level: error
gupshup:
  base_url: http://%s
%swebhooks:
  store_path: %s
  verify_on_start: false
debug:
  pprof_listen: %s
tenants:
  - name: bench
    tokens: [%q]
    webhook: {url: "http://%s/webhook", app_secret: "memory-bench-app-secret"}
    phone_numbers:
      - {id: %q, app_id: %q, app_name: MemoryBench, app_token: sk_memory_bench, callback_secret: %q, waba_id: %q}
`, proxyAddr, simAddr, limits, filepath.Join(dir, "waproxy.db"), pprofAddr, token, recvAddr, phoneID, appID, cbSecret, waba)
	cfgPath := filepath.Join(dir, "proxy.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := exec.CommandContext(ctx, simBin, "-fast", "-listen", simAddr, "-app-id", appID)
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer func() { _ = sim.Process.Kill(); _ = sim.Wait() }()
	proxy := exec.CommandContext(ctx, proxyBin, "-config", cfgPath)
	// Its log (one error line per 503) is not part of the report.
	plog, err := os.Create(filepath.Join(dir, "proxy.log"))
	if err != nil {
		return err
	}
	defer plog.Close()
	proxy.Stdout, proxy.Stderr = plog, plog
	if err := proxy.Start(); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	defer func() { _ = proxy.Process.Kill(); _ = proxy.Wait() }()
	pid := proxy.Process.Pid
	base := "http://" + proxyAddr
	if err := waitOK(base + "/healthz"); err != nil {
		return err
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 0}}

	fmt.Printf("proxy pid %d; config:\n%s\n", pid, limitsNote(limits))
	_, rss0, _ := memKB(pid)
	fmt.Printf("%-40s %8.1f MB\n", "RSS at start", mb(rss0))

	sendBody := textSend(sendBytes)
	r1, err := burst(pid, "sends", sends, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, base+"/v23.0/"+phoneID+"/messages", bytes.NewReader(sendBody))
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}, client)
	if err != nil {
		return err
	}
	if err := r1.afterGC(client, pid, pprofAddr, base); err != nil {
		return err
	}
	r1.print()

	var seq atomic.Int64
	r2, err := burst(pid, "callbacks", callbacks, func() (*http.Request, error) {
		body := inboundCallback(cbBytes, seq.Add(1))
		req, err := http.NewRequest(http.MethodPost, base+"/gupshup/callbacks/"+appID, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("X-Waproxy-Secret", cbSecret)
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}, client)
	if err != nil {
		return err
	}
	if err := r2.afterGC(client, pid, pprofAddr, base); err != nil {
		return err
	}
	r2.print()
	rej, _ := metricLines(client, base, "waproxy_requests_rejected_total")
	fmt.Printf("\n%s\n", strings.Join(rej, "\n"))
	return nil
}

func limitsNote(limits string) string {
	if limits == "" {
		return "  server limits: the defaults (max_in_flight 1024, max_buffered_bytes 64 MiB)"
	}
	return limits
}

// result is one burst's measurement.
type result struct {
	name     string
	n        int
	took     time.Duration
	statuses map[int]int
	errors   int
	peakKB   int64 // VmHWM
	hwmReset bool
	maxRSS   int64 // highest VmRSS sampled
	rssKB    int64 // VmRSS after the forced collection
	anonKB   int64 // its RssAnon (the heap) and RssFile (the store's mmap, the binary)
	fileKB   int64
	heap     string
}

func burst(pid int, name string, n int, mk func() (*http.Request, error), client *http.Client) (*result, error) {
	r := &result{name: name, n: n, statuses: map[int]int{}}
	// Reset VmHWM to the current RSS (needs ptrace rights on the process).
	r.hwmReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	var maxRSS atomic.Int64
	sampler.Go(func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			if _, rss, err := memKB(pid); err == nil && rss > maxRSS.Load() {
				maxRSS.Store(rss)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	})
	reqs := make([]*http.Request, n)
	for i := range reqs {
		req, err := mk()
		if err != nil {
			return nil, err
		}
		reqs[i] = req
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			resp, err := client.Do(reqs[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.errors++
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			r.statuses[resp.StatusCode]++
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	r.took = time.Since(t0)
	close(stop)
	sampler.Wait()
	r.maxRSS = maxRSS.Load()
	hwm, _, err := memKB(pid)
	if err != nil {
		return nil, err
	}
	r.peakKB = hwm
	return r, nil
}

// afterGC forces a collection in the proxy and reads RSS and the Go heap.
func (r *result) afterGC(client *http.Client, pid int, pprofAddr, base string) error {
	resp, err := client.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return fmt.Errorf("forcing a collection: %w", err)
	}
	var out io.Writer = io.Discard
	if heapDir != "" {
		f, err := os.Create(filepath.Join(heapDir, r.name+".heap.pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	_, _ = io.Copy(out, resp.Body)
	resp.Body.Close()
	_, rss, err := memKB(pid)
	if err != nil {
		return err
	}
	r.rssKB = rss
	r.anonKB, r.fileKB = rssParts(pid)
	lines, err := metricLines(client, base, "go_memstats_heap_inuse_bytes", "go_memstats_heap_released_bytes")
	if err != nil {
		return err
	}
	r.heap = strings.Join(lines, "; ")
	return nil
}

func (r *result) print() {
	codes := make([]int, 0, len(r.statuses))
	for c := range r.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", r.statuses[c], c))
	}
	if r.errors > 0 {
		parts = append(parts, fmt.Sprintf("%d transport errors", r.errors))
	}
	peak := "VmHWM (since start: clear_refs not allowed)"
	if r.hwmReset {
		peak = "VmHWM (reset before the burst)"
	}
	fmt.Printf("\n%d concurrent %s in %s: %s\n", r.n, r.name, r.took.Round(time.Millisecond), strings.Join(parts, ", "))
	fmt.Printf("  %-44s %8.1f MB\n", "peak RSS, "+peak, mb(r.peakKB))
	fmt.Printf("  %-44s %8.1f MB\n", "highest VmRSS sampled (10 ms)", mb(r.maxRSS))
	fmt.Printf("  %-44s %8.1f MB (RssAnon %.1f, RssFile %.1f)\n", "VmRSS after a forced collection", mb(r.rssKB), mb(r.anonKB), mb(r.fileKB))
	fmt.Printf("  Go heap after it: %s\n", r.heap)
}

func mb(kb int64) float64 { return float64(kb) / 1000 }

// memKB reads VmHWM and VmRSS from /proc/<pid>/status, in kB.
func memKB(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	if hwm == 0 || rss == 0 {
		return 0, 0, errors.New("no VmHWM/VmRSS in /proc status")
	}
	return hwm, rss, nil
}

// rssParts reads RssAnon and RssFile from /proc/<pid>/status, in kB.
func rssParts(pid int) (anon, file int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return anon, file
}

// metricLines returns the /metrics lines of the named series.
func metricLines(client *http.Client, base string, names ...string) ([]string, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		for _, n := range names {
			if strings.HasPrefix(sc.Text(), n+" ") || strings.HasPrefix(sc.Text(), n+"{") {
				out = append(out, sc.Text())
			}
		}
	}
	return out, sc.Err()
}

func waitOK(url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 20s", url)
}

// textSend is a Meta text send whose body is n bytes.
func textSend(n int) []byte {
	head := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"`
	tail := `"}}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

// inboundCallback is a Gupshup v3 inbound text message callback of n bytes
// (its own message id, so none is a duplicate).
func inboundCallback(n int, seq int64) []byte {
	head := fmt.Sprintf(`{"object":"whatsapp_business_account","gs_app_id":%q,"entry":[{"id":%q,"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"919810012345","phone_number_id":"gs-phone"},"contacts":[{"profile":{"name":"Bench"},"wa_id":"919000000001"}],"messages":[{"from":"919000000001","id":"wamid.memory-bench-%d","timestamp":"%d","type":"text","text":{"body":"`,
		appID, waba, seq, time.Now().Unix())
	tail := `"}}]}}]}]}`
	return []byte(head + strings.Repeat("b", n-len(head)-len(tail)) + tail)
}
