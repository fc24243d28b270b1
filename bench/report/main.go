// Command report is bench/run's helper: it parses what wrk, vegeta, /proc
// and bench/relay.sh left in a run's output directory, renders the results
// tables (on stdout and into docs/benchmarks.md between markers), and holds idle
// connections for the RSS measurement. Standard library only; it is not
// part of the proxy.
//
//	report rate -percent 50 wrk-proxy.txt       requests/s of a wrk run × percent/100, as an integer
//	report hold -url U -n 1000 -pid P ...       open n keep-alive connections, send once on each, hold them, read P's RSS
//	report render -out DIR [-doc FILE]          print the tables (send path, relay path: what DIR holds);
//	                                            replace those parts of FILE's generated section
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report rate|hold|render [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "rate":
		err = cmdRate(os.Args[2:])
	case "hold":
		err = cmdHold(os.Args[2:])
	case "render":
		err = cmdRender(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (rate, hold, render)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// ---------------------------------------------------------------- wrk

// WrkResult is what one wrk run printed: its own summary plus the BENCH
// line bench/send.lua's done() writes.
type WrkResult struct {
	Requests    int64
	Duration    time.Duration
	RPS         float64 // wrk's "Requests/sec:"
	P50, P90    time.Duration
	P99, P999   time.Duration
	Max         time.Duration
	Mean        time.Duration
	ErrConnect  int64
	ErrRead     int64
	ErrWrite    int64
	ErrStatus   int64 // non-2xx/3xx answers
	ErrTimeout  int64
	Connections int
	Threads     int
}

// Errors is the number of failed requests of any kind.
func (w WrkResult) Errors() int64 {
	return w.ErrConnect + w.ErrRead + w.ErrWrite + w.ErrStatus + w.ErrTimeout
}

// ParseWrk reads wrk's output. The BENCH line (from bench/send.lua) is
// required: wrk's own latency lines are rounded and have no p99.9.
func ParseWrk(r io.Reader) (WrkResult, error) {
	var w WrkResult
	var bench bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "BENCH "):
			kv := fields(line[len("BENCH "):])
			var err error
			get := func(k string) int64 {
				v, ok := kv[k]
				if !ok {
					if err == nil {
						err = fmt.Errorf("BENCH line without %s", k)
					}
					return 0
				}
				f, perr := strconv.ParseFloat(v, 64)
				if perr != nil && err == nil {
					err = fmt.Errorf("BENCH %s=%q: %v", k, v, perr)
				}
				return int64(math.Round(f))
			}
			us := func(k string) time.Duration { return time.Duration(get(k)) * time.Microsecond }
			w.Requests = get("requests")
			w.Duration = us("duration_us")
			w.P50, w.P90, w.P99, w.P999 = us("p50_us"), us("p90_us"), us("p99_us"), us("p999_us")
			w.Max, w.Mean = us("max_us"), us("mean_us")
			w.ErrConnect, w.ErrRead, w.ErrWrite = get("errors_connect"), get("errors_read"), get("errors_write")
			w.ErrStatus, w.ErrTimeout = get("errors_status"), get("errors_timeout")
			if err != nil {
				return w, err
			}
			bench = true
		case strings.HasPrefix(line, "Requests/sec:"):
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
			if err != nil {
				return w, fmt.Errorf("wrk %q: %v", line, err)
			}
			w.RPS = f
		case strings.HasSuffix(line, "connections") && strings.Contains(line, "threads and"):
			// "2 threads and 64 connections"
			f := strings.Fields(line)
			if len(f) == 5 {
				w.Threads, _ = strconv.Atoi(f[0])
				w.Connections, _ = strconv.Atoi(f[3])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return w, err
	}
	if !bench {
		return w, errors.New("wrk output has no BENCH line (was it run with bench/send.lua?)")
	}
	if w.RPS == 0 && w.Duration > 0 {
		w.RPS = float64(w.Requests) / w.Duration.Seconds()
	}
	return w, nil
}

// fields splits "a=1 b=2" into a map.
func fields(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func parseWrkFile(path string) (WrkResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return WrkResult{}, err
	}
	defer f.Close()
	w, err := ParseWrk(f)
	if err != nil {
		return w, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// ---------------------------------------------------------------- vegeta

// VegetaResult summarises vegeta's results (as `vegeta encode -to csv`).
type VegetaResult struct {
	Requests  int
	Success   int // 2xx without a transport error
	Rate      float64
	P50, P90  time.Duration
	P99, P999 time.Duration
	Max       time.Duration
	Errors    map[string]int // error text or "HTTP <code>" → count
}

// ParseVegetaCSV reads `vegeta encode -to csv` output: timestamp (ns since
// the epoch), code, latency (ns), bytes out, bytes in, error, body, … .
// Percentiles are exact (nearest rank) over every request.
func ParseVegetaCSV(r io.Reader) (VegetaResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	v := VegetaResult{Errors: map[string]int{}}
	var lat []time.Duration
	var first, last int64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return v, err
		}
		if len(rec) < 6 {
			return v, fmt.Errorf("vegeta csv: record with %d fields", len(rec))
		}
		ts, err1 := strconv.ParseInt(rec[0], 10, 64)
		code, err2 := strconv.Atoi(rec[1])
		ns, err3 := strconv.ParseInt(rec[2], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return v, fmt.Errorf("vegeta csv: %w", err)
		}
		if v.Requests == 0 || ts < first {
			first = ts
		}
		if ts > last {
			last = ts
		}
		v.Requests++
		lat = append(lat, time.Duration(ns))
		switch {
		case rec[5] != "":
			v.Errors[rec[5]]++
		case code/100 != 2:
			v.Errors["HTTP "+strconv.Itoa(code)]++
		default:
			v.Success++
		}
	}
	if v.Requests == 0 {
		return v, errors.New("vegeta csv: no results")
	}
	if last > first {
		v.Rate = float64(v.Requests-1) / (float64(last-first) / 1e9)
	}
	slices.Sort(lat)
	v.P50, v.P90 = percentile(lat, 50), percentile(lat, 90)
	v.P99, v.P999 = percentile(lat, 99), percentile(lat, 99.9)
	v.Max = lat[len(lat)-1]
	return v, nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The rank, robust to p/100 not being exact in binary (99.9 % of 1,000
	// is rank 999, not 1,000).
	i := int(math.Ceil(p*float64(len(sorted))/100-1e-9)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func parseVegetaFile(path string) (VegetaResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return VegetaResult{}, err
	}
	defer f.Close()
	v, err := ParseVegetaCSV(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ---------------------------------------------------------------- /proc

// Snapshot is one `snap` of bench/run: the machine's CPU counters and, per
// process name, its CPU ticks and memory.
type Snapshot struct {
	Time  time.Time
	CPU   CPUTicks
	Procs map[string]Proc
}

// CPUTicks are /proc/stat's aggregate cpu counters, in clock ticks.
type CPUTicks struct {
	Busy    int64 // user+nice+system+irq+softirq+steal
	IRQ     int64 // irq+softirq (network processing on loopback)
	Idle    int64 // idle+iowait
	Present bool
}

// Proc is what a snapshot saw of one process.
type Proc struct {
	Ticks  int64 // utime+stime, from /proc/<pid>/stat
	RSSkB  int64 // VmRSS
	HWMkB  int64 // VmHWM (peak RSS since start or the last clear_refs 5)
	Exists bool
}

// ParseSnapshot reads lines "time <seconds since the epoch>", "cpu <the
// cpu line of /proc/stat>", "<name> stat <the /proc/<pid>/stat line>" and
// "<name> VmHWM: 1234 kB" (or VmRSS:).
func ParseSnapshot(r io.Reader) (Snapshot, error) {
	s := Snapshot{Procs: map[string]Proc{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if name == "time" {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return s, fmt.Errorf("snapshot time %q: %v", rest, err)
			}
			sec, frac := math.Modf(f)
			s.Time = time.Unix(int64(sec), int64(frac*1e9))
			continue
		}
		if name == "cpu" {
			t, err := ParseProcStatCPU(rest)
			if err != nil {
				return s, err
			}
			s.CPU = t
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		p := s.Procs[name]
		switch kind := f[0]; kind {
		case "stat":
			t, err := ParsePidStat(strings.TrimSpace(rest)[len("stat"):])
			if err != nil {
				return s, fmt.Errorf("%s: %w", name, err)
			}
			p.Ticks, p.Exists = t, true
		case "VmRSS:", "VmHWM:": // "VmHWM:\t   1234 kB"
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return s, fmt.Errorf("%s %s %q: %v", name, kind, rest, err)
			}
			if kind == "VmRSS:" {
				p.RSSkB = n
			} else {
				p.HWMkB = n
			}
		default:
			continue
		}
		s.Procs[name] = p
	}
	return s, sc.Err()
}

// ParseProcStatCPU parses the aggregate line of /proc/stat ("cpu  u n s i
// iow irq sirq steal …"); a leading "cpu" is allowed.
func ParseProcStatCPU(line string) (CPUTicks, error) {
	f := strings.Fields(line)
	if len(f) > 0 && f[0] == "cpu" {
		f = f[1:]
	}
	if len(f) < 8 {
		return CPUTicks{}, fmt.Errorf("/proc/stat cpu line %q: too short", line)
	}
	var n [8]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return CPUTicks{}, fmt.Errorf("/proc/stat cpu line %q: %v", line, err)
		}
		n[i] = v
	}
	return CPUTicks{
		Busy:    n[0] + n[1] + n[2] + n[5] + n[6] + n[7],
		IRQ:     n[5] + n[6],
		Idle:    n[3] + n[4],
		Present: true,
	}, nil
}

// ParsePidStat returns utime+stime (clock ticks) of a /proc/<pid>/stat
// line. The command name may hold spaces and parentheses, so fields are
// counted from the last ')'.
func ParsePidStat(line string) (int64, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/pid/stat %q: no ')'", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/pid/stat %q: too short", line)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/pid/stat: %w", err)
	}
	return u + s, nil
}

func parseSnapshotFile(path string) (Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return Snapshot{}, err
	}
	defer f.Close()
	s, err := ParseSnapshot(f)
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseTime reads bash's `time` output with TIMEFORMAT='%3U %3S': the
// user and system seconds of the load generator.
func ParseTime(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("time output %q: want \"user sys\"", b)
	}
	u, err1 := strconv.ParseFloat(f[len(f)-2], 64)
	s, err2 := strconv.ParseFloat(f[len(f)-1], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("time output %q: %w", b, err)
	}
	return u + s, nil
}

// ---------------------------------------------------------------- rate

func cmdRate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ContinueOnError)
	pct := fs.Float64("percent", 50, "percent of the wrk run's requests/s")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: report rate -percent P WRK_OUTPUT")
	}
	w, err := parseWrkFile(fs.Arg(0))
	if err != nil {
		return err
	}
	r := int(math.Round(w.RPS * *pct / 100))
	if r < 1 {
		return fmt.Errorf("%s: %.1f requests/s, nothing to take %v%% of", fs.Arg(0), w.RPS, *pct)
	}
	fmt.Println(r)
	return nil
}

// ---------------------------------------------------------------- hold

func cmdHold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ContinueOnError)
	target := fs.String("url", "", "URL to POST the body to on every connection")
	n := fs.Int("n", 1000, "connections")
	bodyFile := fs.String("body", "", "request body file (JSON)")
	token := fs.String("token", "", "bearer token")
	pid := fs.Int("pid", 0, "process whose RSS to read while the connections are held")
	settle := fs.Duration("settle", 2*time.Second, "wait after the last connection before reading the RSS")
	parallel := fs.Int("parallel", 50, "connections opened at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" || *pid == 0 || *bodyFile == "" {
		return errors.New("usage: report hold -url U -body FILE -pid P [-n N] [-token T]")
	}
	u, err := url.Parse(*target)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		u.RequestURI(), u.Host, *token, len(body), body)

	conns := make([]net.Conn, *n)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, max(1, *parallel))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := holdOne(u.Host, req)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			conns[i] = c
			ok.Add(1)
		}()
	}
	wg.Wait()
	opened := time.Since(start)
	time.Sleep(*settle)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", *pid))
	if err != nil {
		return err
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", *pid))
	// Every connection must still be open (not closed by the server).
	alive := 0
	for _, c := range conns {
		if c == nil {
			continue
		}
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			alive++
		}
		c.Close()
	}
	fmt.Printf("held=%d ok=%d failed=%d alive=%d open_s=%.2f fds=%d vmrss_kb=%d vmhwm_kb=%d",
		*n, ok.Load(), failed.Load(), alive, opened.Seconds(), len(fds),
		statusKB(status, "VmRSS:"), statusKB(status, "VmHWM:"))
	if e, _ := firstErr.Load().(string); e != "" {
		fmt.Printf(" first_error=%q", e)
	}
	fmt.Println()
	return nil
}

// holdOne dials, sends req, reads a 200 answer and returns the open
// keep-alive connection.
func holdOne(addr, req string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		c.Close()
		return nil, fmt.Errorf("answer %s (close %v)", resp.Status, resp.Close)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func statusKB(status []byte, key string) int64 {
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// HoldResult is the line cmdHold prints.
type HoldResult struct {
	Held, OK, Failed, Alive int
	FDs                     int
	RSSkB, HWMkB            int64
	FirstError              string
}

// ParseHold reads cmdHold's output line.
func ParseHold(b []byte) (HoldResult, error) {
	line := strings.TrimSpace(string(b))
	var h HoldResult
	if i := strings.Index(line, " first_error="); i >= 0 {
		h.FirstError, _ = strconv.Unquote(line[i+len(" first_error="):])
		line = line[:i]
	}
	kv := fields(line)
	atoi := func(k string) int64 { n, _ := strconv.ParseInt(kv[k], 10, 64); return n }
	if _, ok := kv["vmrss_kb"]; !ok {
		return h, fmt.Errorf("hold output %q: no vmrss_kb", b)
	}
	h.Held, h.OK, h.Failed, h.Alive = int(atoi("held")), int(atoi("ok")), int(atoi("failed")), int(atoi("alive"))
	h.FDs = int(atoi("fds"))
	h.RSSkB, h.HWMkB = atoi("vmrss_kb"), atoi("vmhwm_kb")
	return h, nil
}

// ---------------------------------------------------------------- render

// Markers delimit the generated section of docs/benchmarks.md.
const (
	BeginMarker = "<!-- bench/run: generated section begins; edit outside the markers -->"
	EndMarker   = "<!-- bench/run: generated section ends -->"
)

// ReplaceSection puts section between the markers of doc, or appends the
// markers and section when doc has none.
func ReplaceSection(doc, section string) (string, error) {
	block := BeginMarker + "\n" + strings.TrimRight(section, "\n") + "\n" + EndMarker
	b := strings.Index(doc, BeginMarker)
	e := strings.Index(doc, EndMarker)
	switch {
	case b < 0 && e < 0:
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		if doc != "" {
			doc += "\n"
		}
		return doc + block + "\n", nil
	case b < 0 || e < 0 || e < b:
		return "", errors.New("benchmarks doc: markers missing or out of order")
	}
	return doc[:b] + block + doc[e+len(EndMarker):], nil
}

func cmdRender(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	dir := fs.String("out", "", "bench/run's output directory")
	doc := fs.String("doc", "", "markdown file whose generated section to replace (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("usage: report render -out DIR [-doc FILE]")
	}
	run, err := loadRun(*dir)
	if err != nil {
		return err
	}
	md := run.Markdown()
	fmt.Print(md)
	if err := os.WriteFile(filepath.Join(*dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if *doc == "" {
		return nil
	}
	old, err := os.ReadFile(*doc)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(old) == 0 {
		old = []byte("# Benchmarks\n\nGenerated by `bench/run` (see bench/README.md); text outside the markers is kept.\n")
	}
	// A part this run skipped (BENCH_PARTS) keeps its previous text.
	prev, err := Section(string(old))
	if err != nil {
		return fmt.Errorf("%s: %w", *doc, err)
	}
	out, err := ReplaceSection(string(old), MergeParts(prev, run.Parts()))
	if err != nil {
		return fmt.Errorf("%s: %w", *doc, err)
	}
	if err := os.MkdirAll(filepath.Dir(*doc), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*doc, []byte(out), 0o644)
}
