package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RelayResult is what the "Relay path" table shows of the JSON object
// bench/relay.sh writes (its header documents every field).
type RelayResult struct {
	Tool    string `json:"tool"`
	Time    string `json:"time"`
	Machine struct {
		CPU    string `json:"cpu"`
		Cores  int    `json:"cores"`
		Kernel string `json:"kernel"`
		Go     string `json:"go"`
	} `json:"machine"`
	Settings struct {
		Senders       int               `json:"senders"`
		Events        int               `json:"events"`
		DurationS     float64           `json:"duration_s"`
		Warmup        int               `json:"warmup"`
		CallbackBytes int               `json:"callback_bytes"`
		StatusMix     []string          `json:"status_mix"`
		Proxy         map[string]string `json:"proxy"`
	} `json:"settings"`
	Complete          bool           `json:"complete"`
	Sent              int            `json:"sent"`
	Accepted          int            `json:"accepted"`
	Rejected          map[string]int `json:"rejected"`
	AcceptedPerS      float64        `json:"accepted_per_s"`
	AckMS             LatencyMS      `json:"ack_ms"`
	Delivered         int            `json:"delivered"`
	Missing           int            `json:"missing"`
	DeliveredPerS     float64        `json:"delivered_per_s"`
	EndToEndPerS      float64        `json:"end_to_end_per_s"`
	EndToEndMS        LatencyMS      `json:"end_to_end_ms"`
	ValidSignatures   int            `json:"valid_signatures"`
	InvalidSignatures int            `json:"invalid_signatures"`
	Duplicates        int            `json:"duplicates"`
	Unknown           int            `json:"unknown"`
	BacklogMax        int            `json:"backlog_max"`
	SendS             float64        `json:"send_s"`
	DrainS            float64        `json:"drain_s"`
	Proxy             *RelayProc     `json:"proxy"`
	Generator         RelayProc      `json:"generator"`
	MachineCPU        *RelayMachine  `json:"machine_cpu"`
	TargetPerS        float64        `json:"target_per_s"`
	TargetMet         bool           `json:"target_met"`
	SyncProbe         *struct {
		Before LatencyMS `json:"before_ms"`
		After  LatencyMS `json:"after_ms"`
	} `json:"sync_probe"`
}

// LatencyMS is relayload's latency summary, in milliseconds.
type LatencyMS struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// RelayProc is relayload's CPU and memory account of one process over the
// measured window.
type RelayProc struct {
	CPUS      float64 `json:"cpu_s"`
	CPUPer1k  float64 `json:"cpu_s_per_1k_events"`
	CPUCores  float64 `json:"cpu_cores"`
	RSSPeakMB float64 `json:"rss_peak_mb"` // VmHWM / 1024: MiB
	RSSEndMB  float64 `json:"rss_end_mb"`
	WindowS   float64 `json:"window_s"`
}

// RelayMachine is the whole machine's CPU over the same window, in cores.
type RelayMachine struct {
	Cores       int     `json:"cores"`
	BusyCores   float64 `json:"busy_cores"`
	IRQCores    float64 `json:"irq_cores"`
	IOWaitCores float64 `json:"iowait_cores"`
}

// ParseRelay reads bench/relay.sh's JSON.
func ParseRelay(r io.Reader) (RelayResult, error) {
	var res RelayResult
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return res, fmt.Errorf("relay json: %w", err)
	}
	if res.Tool != "relayload" {
		return res, fmt.Errorf("relay json: tool %q, want relayload", res.Tool)
	}
	if res.TargetPerS == 0 {
		res.TargetPerS = 5000
	}
	return res, nil
}

func parseRelayFile(path string) (RelayResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return RelayResult{}, err
	}
	defer f.Close()
	res, err := ParseRelay(f)
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// The headings that start each part of the generated section; a part a
// run skipped (BENCH_PARTS) keeps its text from the previous run.
const (
	SendHeading  = "## Send path: results of the last run"
	RelayHeading = "## Relay path: results of the last run"
)

// RelayMarkdown renders the "Relay path" part of the generated section.
func RelayMarkdown(r RelayResult) string {
	var b strings.Builder
	b.WriteString(RelayHeading + "\n\n")
	when := r.Time
	if t, err := time.Parse(time.RFC3339, r.Time); err == nil {
		when = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(&b, "Run %s with `bench/run` (`bench/relay.sh`), on %s, %d cores, Linux %s, %s.\n\n",
		when, r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.Go)

	load := fmt.Sprintf("%s events", thousands(r.Settings.Events))
	if r.Settings.DurationS > 0 {
		load = fmt.Sprintf("%s s of events", strconv.FormatFloat(r.Settings.DurationS, 'f', -1, 64))
	}
	px := r.Settings.Proxy
	fsync := "fsync on every commit"
	if px["fsync"] != "true" {
		fsync = "fsync " + orDash(px["fsync"])
	}
	build := ""
	if bu := px["build"]; bu != "" && bu != "plain" {
		build = "; proxy build: " + bu
	}
	fmt.Fprintf(&b, "%d concurrent senders POST %s (after %s unmeasured) to the proxy's intake "+
		"(`POST /gupshup/callbacks/{appId}` with the app's secret header), each a unique Gupshup v3 status "+
		"(%s; %d bytes). The proxy answers 200 once the event is stored durably (bbolt, %s, store on %s), "+
		"then signs it and delivers it to a local receiver that checks `X-Hub-Signature-256` "+
		"(`webhooks.concurrency` %s; `log_level` %s%s).\n\n",
		r.Settings.Senders, load, thousands(r.Settings.Warmup), strings.Join(r.Settings.StatusMix, ", "),
		r.Settings.CallbackBytes, fsync, orDash(px["store_fs"]), orDash(px["webhooks_concurrency"]),
		orDash(px["log_level"]), build)

	b.WriteString("| accepted events/s (durable) | ack p50 | ack p99 | ack p99.9 | signed deliveries/s | end to end events/s | callback → webhook p50 / p99 | proxy CPU s / 1,000 events | proxy peak RSS | invalid signatures | duplicates | target ≥ " +
		thousands(int(r.TargetPerS)) + " events/s |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	cpu, rss := "—", "—"
	if p := r.Proxy; p != nil {
		cpu = fmt.Sprintf("%.3f", p.CPUPer1k)
		if p.RSSPeakMB > 0 {
			rss = fmt.Sprintf("%.1f MiB", p.RSSPeakMB)
		}
	}
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %d | %d | %s |\n",
		rps(r.AcceptedPerS), msf(r.AckMS.P50), msf(r.AckMS.P99), msf(r.AckMS.P999),
		rps(r.DeliveredPerS), rps(r.EndToEndPerS), msf(r.EndToEndMS.P50), msf(r.EndToEndMS.P99),
		cpu, rss, r.InvalidSignatures, r.Duplicates, yes(r.TargetMet))

	// What the target needs and what is short.
	b.WriteString("\n")
	switch {
	case r.TargetMet:
		fmt.Fprintf(&b, "Target ≥ %s events/s durable: met (accepted %s/s, delivered %s/s).\n",
			thousands(int(r.TargetPerS)), rps(r.AcceptedPerS), rps(r.DeliveredPerS))
	default:
		var why []string
		if r.AcceptedPerS < r.TargetPerS {
			why = append(why, fmt.Sprintf("accepted %s/s = %.0f %% of it", rps(r.AcceptedPerS), 100*r.AcceptedPerS/r.TargetPerS))
		}
		if r.DeliveredPerS < r.TargetPerS {
			why = append(why, fmt.Sprintf("delivered %s/s = %.0f %% of it", rps(r.DeliveredPerS), 100*r.DeliveredPerS/r.TargetPerS))
		}
		if !r.Complete {
			why = append(why, fmt.Sprintf("%d accepted events not delivered in time", r.Missing))
		}
		if r.InvalidSignatures > 0 {
			why = append(why, fmt.Sprintf("%d invalid signatures", r.InvalidSignatures))
		}
		fmt.Fprintf(&b, "Target ≥ %s events/s durable: **not met** (%s).\n", thousands(int(r.TargetPerS)), strings.Join(why, "; "))
	}

	fmt.Fprintf(&b, "\n%s of %s callbacks accepted", thousands(r.Accepted), thousands(r.Sent))
	if len(r.Rejected) > 0 {
		b.WriteString(" (rejected: " + intList(r.Rejected) + ")")
	}
	fmt.Fprintf(&b, ", %s delivered, %d missing; %s valid signatures and %d unknown bodies over the whole run (warm-up included); "+
		"at most %s accepted events waiting for delivery at a second's end. Sending took %.1f s, delivering the rest %.1f s more.",
		thousands(r.Delivered), r.Missing, thousands(r.ValidSignatures), r.Unknown, thousands(r.BacklogMax), r.SendS, r.DrainS)
	if p := r.Proxy; p != nil {
		fmt.Fprintf(&b, " The proxy used %.2f cores (%.2f CPU s over %.1f s); the load generator and receiver (relayload, on the same machine) %.2f cores (%.3f CPU s / 1,000 events).",
			p.CPUCores, p.CPUS, p.WindowS, r.Generator.CPUCores, r.Generator.CPUPer1k)
		if m := r.MachineCPU; m != nil {
			other := math.Max(0, m.BusyCores-p.CPUCores-r.Generator.CPUCores-m.IRQCores)
			fmt.Fprintf(&b, " The machine was %.2f of its %d cores busy (kernel irq/softirq %.2f, other processes %.2f; iowait %.2f).",
				m.BusyCores, m.Cores, m.IRQCores, other, m.IOWaitCores)
		}
	}
	if sp := r.SyncProbe; sp != nil {
		fmt.Fprintf(&b, " A 4 KiB write + fsync in the store's directory took %s at p50 (p99 %s) before the load and %s (p99 %s) after it.",
			msf(sp.Before.P50), msf(sp.Before.P99), msf(sp.After.P50), msf(sp.After.P99))
	}
	b.WriteString("\n")
	return b.String()
}

// msf formats milliseconds.
func msf(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// thousands formats n with commas (12,345), the documents' style.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func intList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// ---------------------------------------------------------------- parts

// partOf names the part a heading line starts ("send", "relay"), or "".
func partOf(line string) string {
	switch {
	case strings.HasPrefix(line, SendHeading):
		return "send"
	case strings.HasPrefix(line, RelayHeading):
		return "relay"
	}
	return ""
}

// partOrder is the order of the parts in the generated section.
var partOrder = []string{"send", "relay"}

// SplitParts cuts a generated section into its parts, by their headings.
// Text before the first part heading is dropped.
func SplitParts(section string) map[string]string {
	parts := map[string]string{}
	cur := ""
	var b strings.Builder
	flush := func() {
		if cur != "" {
			parts[cur] = strings.TrimRight(b.String(), "\n") + "\n"
		}
		b.Reset()
	}
	for line := range strings.SplitSeq(section, "\n") {
		if p := partOf(line); p != "" {
			flush()
			cur = p
		}
		if cur != "" {
			b.WriteString(line + "\n")
		}
	}
	flush()
	return parts
}

// MergeParts is the new generated section: the parts this run measured,
// and for the parts it skipped their text from the previous section.
func MergeParts(previous string, measured map[string]string) string {
	old := SplitParts(previous)
	var out []string
	for _, p := range partOrder {
		if s, ok := measured[p]; ok {
			out = append(out, strings.TrimRight(s, "\n")+"\n")
		} else if s, ok := old[p]; ok {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

// Section returns the text between the markers of doc ("" when none).
func Section(doc string) (string, error) {
	b := strings.Index(doc, BeginMarker)
	e := strings.Index(doc, EndMarker)
	switch {
	case b < 0 && e < 0:
		return "", nil
	case b < 0 || e < 0 || e < b:
		return "", errors.New("benchmarks doc: markers missing or out of order")
	}
	return doc[b+len(BeginMarker) : e], nil
}
