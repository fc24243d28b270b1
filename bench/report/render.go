package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The three targets of the send path, in table order.
var targets = []struct{ key, label, proc string }{
	{"sim", "(a) simulator directly", "sim"},
	{"proxy", "(b) waproxy → simulator", "proxy"},
	{"caddy", "(c) Caddy `reverse_proxy` → simulator", "caddy"},
}

// Phase is one measured run: what the load generator printed and the
// snapshots around it.
type Phase struct {
	Name          string
	Before, After Snapshot
	Wall          time.Duration
	LoadGenCPU    float64 // seconds, user+sys of wrk or vegeta
	HasLoadGenCPU bool
}

// RateRun is vegeta at one rate against each target.
type RateRun struct {
	Percent string                  // of (b)'s peak, as in params rate_percents
	Rate    string                  // requests/s asked for
	Vegeta  map[string]VegetaResult // by target key
}

// Run is everything one bench/run left in its output directory.
type Run struct {
	Params  map[string]string
	Machine [][2]string
	ClkTck  float64

	Wrk    map[string]WrkResult // by target key
	Rates  []RateRun            // the constant-rate runs, in the order of params rate_percents
	Phases map[string]*Phase    // by phase name (wrk-sim, vegeta-proxy-50, idle-proxy, busy-proxy …)
	Order  []string             // phase names in the order they ran
	Busy   *WrkResult           // wrk with many connections at the proxy
	Idle   *HoldResult

	HasSend bool         // the send path ran (wrk-*.txt present)
	Relay   *RelayResult // the relay path ran (relay.json present)
}

func loadRun(dir string) (*Run, error) {
	r := &Run{Wrk: map[string]WrkResult{}, Phases: map[string]*Phase{}}
	var err error
	if r.Params, err = readKV(filepath.Join(dir, "params.txt"), "="); err != nil {
		return nil, err
	}
	if r.Machine, err = readPairs(filepath.Join(dir, "machine.txt")); err != nil {
		return nil, err
	}
	r.ClkTck = 100
	if v, ok := r.Params["clk_tck"]; ok {
		if r.ClkTck, err = strconv.ParseFloat(v, 64); err != nil || r.ClkTck <= 0 {
			return nil, fmt.Errorf("params clk_tck %q", v)
		}
	}
	if b, err := os.Stat(filepath.Join(dir, "relay.json")); err == nil && !b.IsDir() {
		rel, err := parseRelayFile(filepath.Join(dir, "relay.json"))
		if err != nil {
			return nil, err
		}
		r.Relay = &rel
	}
	// The send path ran when its first wrk run left its output.
	if _, err := os.Stat(filepath.Join(dir, "wrk-"+targets[0].key+".txt")); errors.Is(err, os.ErrNotExist) {
		if r.Relay == nil {
			return nil, fmt.Errorf("%s: neither send path (wrk-*.txt) nor relay path (relay.json) results", dir)
		}
		return r, nil
	}
	r.HasSend = true
	for _, t := range targets {
		w, err := parseWrkFile(filepath.Join(dir, "wrk-"+t.key+".txt"))
		if err != nil {
			return nil, err
		}
		r.Wrk[t.key] = w
		if err := r.loadPhase(dir, "wrk-"+t.key); err != nil {
			return nil, err
		}
	}
	// vegeta ran against the proxy first, then the simulator, then Caddy.
	for _, pct := range strings.Fields(r.Params["rate_percents"]) {
		rr := RateRun{Percent: pct, Rate: r.Params["rate_"+pct], Vegeta: map[string]VegetaResult{}}
		for _, key := range []string{"proxy", "sim", "caddy"} {
			name := "vegeta-" + key + "-" + pct
			p := filepath.Join(dir, name+".csv")
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				continue
			}
			v, err := parseVegetaFile(p)
			if err != nil {
				return nil, err
			}
			rr.Vegeta[key] = v
			if err := r.loadPhase(dir, name); err != nil {
				return nil, err
			}
		}
		r.Rates = append(r.Rates, rr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "idle-proxy.txt")); err == nil {
		h, err := ParseHold(b)
		if err != nil {
			return nil, err
		}
		r.Idle = &h
		if err := r.loadPhase(dir, "idle-proxy"); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "busy-proxy.txt")); err == nil {
		w, err := parseWrkFile(filepath.Join(dir, "busy-proxy.txt"))
		if err != nil {
			return nil, err
		}
		r.Busy = &w
		if err := r.loadPhase(dir, "busy-proxy"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Run) loadPhase(dir, name string) error {
	p := &Phase{Name: name}
	var err error
	if p.Before, err = parseSnapshotFile(filepath.Join(dir, name+".before")); err != nil {
		return err
	}
	if p.After, err = parseSnapshotFile(filepath.Join(dir, name+".after")); err != nil {
		return err
	}
	p.Wall = p.After.Time.Sub(p.Before.Time)
	if b, err := os.ReadFile(filepath.Join(dir, name+".time")); err == nil {
		if p.LoadGenCPU, err = ParseTime(b); err != nil {
			return fmt.Errorf("%s.time: %w", name, err)
		}
		p.HasLoadGenCPU = true
	}
	r.Phases[name] = p
	r.Order = append(r.Order, name)
	return nil
}

// procCPU is the CPU seconds a process used during a phase.
func (r *Run) procCPU(p *Phase, proc string) (float64, bool) {
	a, ok1 := p.After.Procs[proc]
	b, ok2 := p.Before.Procs[proc]
	if !ok1 || !ok2 || !a.Exists || !b.Exists {
		return 0, false
	}
	return float64(a.Ticks-b.Ticks) / r.ClkTck, true
}

// Parts renders the parts of the generated section this run measured, by
// part name ("send", "relay").
func (r *Run) Parts() map[string]string {
	m := map[string]string{}
	if r.HasSend {
		m["send"] = r.SendMarkdown()
	}
	if r.Relay != nil {
		m["relay"] = RelayMarkdown(*r.Relay)
	}
	return m
}

// Markdown renders the parts this run measured, in the section's order.
func (r *Run) Markdown() string {
	return MergeParts("", r.Parts())
}

// SendMarkdown renders the send path's part of the generated section.
func (r *Run) SendMarkdown() string {
	var b strings.Builder
	p := r.Params
	b.WriteString(SendHeading + "\n\n")
	fmt.Fprintf(&b, "Run %s with `bench/run`.\n\n", p["started"])
	b.WriteString("Machine:\n\n")
	for _, kv := range r.Machine {
		fmt.Fprintf(&b, "- %s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&b, "- load average before the run: %s; after: %s\n", p["loadavg_start"], p["loadavg_end"])
	b.WriteString("\nThe load generator and all targets share the machine's cores (see CPU accounting below).\n\n")

	// Saturation.
	fmt.Fprintf(&b, "### Peak throughput (wrk, %s connections, %s threads, %s s, payloads rotated: text, image by link, interactive list, template carousel)\n\n",
		p["connections"], p["threads"], p["duration_s"])
	b.WriteString("| target | requests/s | p50 | p99 | p99.9 | errors | target CPU s / 1,000 req | target peak RSS | simulator CPU s / 1,000 req |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range targets {
		w := r.Wrk[t.key]
		ph := r.Phases["wrk-"+t.key]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", t.label, rps(w.RPS),
			ms(w.P50), ms(w.P99), ms(w.P999), w.Errors(),
			r.perK(ph, t.proc, w.Requests), mib(peak(ph, t.proc)), r.perK(ph, "sim", w.Requests))
	}
	a, bb, c := r.Wrk["sim"].RPS, r.Wrk["proxy"].RPS, r.Wrk["caddy"].RPS
	b.WriteString("\n| ratio | measured | target | met |\n|---|---:|---:|---|\n")
	fmt.Fprintf(&b, "| b/a (waproxy ÷ simulator) | %s | ≥ 0.60 | %s |\n", ratio(bb, a), yes(bb/a >= 0.6))
	fmt.Fprintf(&b, "| b/c (waproxy ÷ Caddy) | %s | ≥ 1.00 | %s |\n", ratio(bb, c), yes(bb/c >= 1.0))
	fmt.Fprintf(&b, "| c/a (Caddy ÷ simulator) | %s | — | |\n", ratio(c, a))

	// Constant rate.
	for _, rr := range r.Rates {
		fmt.Fprintf(&b, "\n### Latency at a constant rate: %s requests/s = %s %% of (b)'s peak (vegeta, %s s, same payloads)\n\n",
			rr.Rate, rr.Percent, p["duration_s"])
		b.WriteString("| target | achieved rate | success | p50 | p90 | p99 | p99.9 | max | target CPU s / 1,000 req |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range targets {
			v, ok := rr.Vegeta[t.key]
			if !ok {
				continue
			}
			ph := r.Phases["vegeta-"+t.key+"-"+rr.Percent]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t.label, rps(v.Rate),
				pct(v.Success, v.Requests), ms(v.P50), ms(v.P90), ms(v.P99), ms(v.P999), ms(v.Max),
				r.perK(ph, t.proc, int64(v.Requests)))
		}
		vs, okS := rr.Vegeta["sim"]
		vp, okP := rr.Vegeta["proxy"]
		if okS && okP {
			added := vp.P99 - vs.P99
			fmt.Fprintf(&b, "\nAdded p99 of waproxy (p99(b) − p99(a)): **%s**", ms(added))
			if rr.Percent == "50" {
				fmt.Fprintf(&b, " (target at 50 %%: ≤ 1 ms: %s)", yes(added <= time.Millisecond))
			}
			fmt.Fprintf(&b, "; added p50: %s; added p99.9: %s.", ms(vp.P50-vs.P50), ms(vp.P999-vs.P999))
			if vc, ok := rr.Vegeta["caddy"]; ok {
				fmt.Fprintf(&b, " Caddy adds %s at p99.", ms(vc.P99-vs.P99))
			}
			b.WriteString("\n")
		}
		for _, t := range targets {
			if v, ok := rr.Vegeta[t.key]; ok && len(v.Errors) > 0 {
				fmt.Fprintf(&b, "\nErrors of %s: %s\n", t.label, errList(v.Errors))
			}
		}
	}

	// Connections.
	if r.Idle != nil || r.Busy != nil {
		b.WriteString("\n### Memory with many connections (waproxy)\n\n")
		b.WriteString("| run | connections | requests/s | RSS before | RSS | peak RSS (VmHWM) | target | met |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
		if h := r.Idle; h != nil {
			before := int64(0)
			if ph := r.Phases["idle-proxy"]; ph != nil {
				before = ph.Before.Procs["proxy"].RSSkB
			}
			fmt.Fprintf(&b, "| idle keep-alive connections, each after one send, fresh proxy | %d of %d open | — | %s | %s | %s | ≤ 64 MiB | %s |\n",
				h.Alive, h.Held, mib(before), mib(h.RSSkB), mib(h.HWMkB), yes(h.Alive == h.Held && h.HWMkB <= 64<<10))
			if h.FirstError != "" {
				fmt.Fprintf(&b, "\nFirst connection error: `%s`\n\n", h.FirstError)
			}
		}
		if w := r.Busy; w != nil {
			ph := r.Phases["busy-proxy"]
			hwm := peak(ph, "proxy")
			fmt.Fprintf(&b, "| wrk, %s s, all connections busy (right after the idle run) | %d | %s | %s | %s | %s | ≤ 64 MiB | %s |\n",
				p["busy_duration_s"], w.Connections, rps(w.RPS), mib(rssBefore(ph, "proxy")), mib(rss(ph, "proxy")), mib(hwm), yes(hwm <= 64<<10))
			if w.Errors() > 0 {
				fmt.Fprintf(&b, "\nThe busy run had %d errors (connect %d, read %d, write %d, status %d, timeout %d).\n",
					w.Errors(), w.ErrConnect, w.ErrRead, w.ErrWrite, w.ErrStatus, w.ErrTimeout)
			}
		}
	}

	// CPU accounting.
	b.WriteString("\n### CPU accounting per run (core-seconds; the machine has " + p["cores"] + " cores)\n\n")
	b.WriteString("| run | wall s | machine busy | waproxy | simulator | Caddy | load generator | kernel irq/softirq | other processes |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	names := r.Order
	for _, n := range names {
		ph := r.Phases[n]
		busy := float64(ph.After.CPU.Busy-ph.Before.CPU.Busy) / r.ClkTck
		irq := float64(ph.After.CPU.IRQ-ph.Before.CPU.IRQ) / r.ClkTck
		other := busy - irq
		cells := make([]string, 3)
		for i, proc := range []string{"proxy", "sim", "caddy"} {
			s, ok := r.procCPU(ph, proc)
			if !ok {
				cells[i] = "—"
				continue
			}
			cells[i] = fmt.Sprintf("%.2f", s)
			other -= s
		}
		lg := "—"
		if ph.HasLoadGenCPU {
			lg = fmt.Sprintf("%.2f", ph.LoadGenCPU)
			other -= ph.LoadGenCPU
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.2f | %s | %s | %s | %s | %.2f | %.2f |\n", n, ph.Wall.Seconds(), busy,
			cells[0], cells[1], cells[2], lg, irq, math.Max(0, other))
	}
	b.WriteString("\n\"other processes\" is whatever else ran on the machine meanwhile (near 0 in an undisturbed run; " +
		"the idle run's load generator is bench/report hold).")
	var waits []string
	waited := false
	for _, n := range names {
		if w, ok := p["quiet_wait_"+n]; ok {
			waited = true
			if w != "0" {
				waits = append(waits, fmt.Sprintf("%s %s s", n, w))
			}
		}
	}
	if waited {
		fmt.Fprintf(&b, " Each run first waited for the machine to be idle (below %s %% CPU, at most %s s)", p["quiet_percent"], p["quiet_wait_max_s"])
		if len(waits) > 0 {
			b.WriteString("; waited: " + strings.Join(waits, ", "))
		}
		b.WriteString(".")
	}
	b.WriteString("\n")
	return b.String()
}

// perK is a process's CPU seconds per 1,000 requests in a phase.
func (r *Run) perK(ph *Phase, proc string, requests int64) string {
	if ph == nil || requests == 0 {
		return "—"
	}
	s, ok := r.procCPU(ph, proc)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.3f", s/float64(requests)*1000)
}

// peak is a process's VmHWM at the end of a phase (bench/run resets it
// before each phase).
func peak(ph *Phase, proc string) int64 {
	if ph == nil {
		return 0
	}
	return ph.After.Procs[proc].HWMkB
}

func rssBefore(ph *Phase, proc string) int64 {
	if ph == nil {
		return 0
	}
	return ph.Before.Procs[proc].RSSkB
}

func rss(ph *Phase, proc string) int64 {
	if ph == nil {
		return 0
	}
	return ph.After.Procs[proc].RSSkB
}

func rps(f float64) string {
	return strconv.FormatFloat(math.Round(f), 'f', 0, 64)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func mib(kB int64) string {
	if kB == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", float64(kB)/1024)
}

func ratio(x, y float64) string {
	if y == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", x/y)
}

func pct(n, of int) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f %%", 100*float64(n)/float64(of))
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func errList(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × `%s`", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// readKV reads "key<sep>value" lines.
func readKV(path, sep string) (map[string]string, error) {
	pairs, err := readSep(path, sep)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, kv := range pairs {
		m[kv[0]] = kv[1]
	}
	return m, nil
}

// readPairs reads "key: value" lines in order.
func readPairs(path string) ([][2]string, error) { return readSep(path, ":") }

func readSep(path, sep string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parsePairs(f, sep)
}

func parsePairs(r io.Reader, sep string) ([][2]string, error) {
	var out [][2]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if !ok || strings.TrimSpace(k) == "" {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out, sc.Err()
}
