// Command relayload measures the webhook relay through a running proxy
// process: it plays Gupshup, POSTing unique v3 status callbacks to the
// proxy's intake (POST /gupshup/callbacks/{app} with the app's secret
// header) from concurrent senders, and plays the tenant, receiving the
// signed Meta webhooks the proxy delivers and checking X-Hub-Signature-256
// with the tenant's app secret. It prints one JSON object: callbacks/s
// accepted (the intake answers 200 only once an event is stored durably),
// acknowledgement latency percentiles, deliveries/s, end-to-end latency,
// invalid signatures, duplicates, and (with -pid) the proxy's CPU time and
// peak RSS over the measured phase.
//
// bench/relay.sh builds and configures the proxy and runs this against
// it; its header documents the JSON. Stand-alone:
//
//	relayload -intake http://127.0.0.1:8080/gupshup/callbacks/sim-app-1 \
//	    -callback-secret S -app-secret A -receiver 127.0.0.1:9099 -pid $(pidof proxy)
//
// with the tenant's webhook url set to http://127.0.0.1:9099/webhook.
// relayload -free-ports N prints N free loopback ports and exits.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	intake, secretHeader, callbackSecret, appSecret string
	receiverAddr                                    string
	body                                            bodyParams
	senders, events, warmup                         int
	duration, drainTimeout, ackTimeout              time.Duration
	pid                                             int
	profileURL, profileOut                          string
	profileSeconds                                  int
	target                                          float64
	syncProbeDir                                    string
	notes                                           map[string]string
	out                                             string
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "relayload:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	var c config
	c.notes = map[string]string{}
	fs := flag.NewFlagSet("relayload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.intake, "intake", "", "intake URL, http://HOST:PORT/gupshup/callbacks/APP (required)")
	fs.StringVar(&c.secretHeader, "secret-header", "X-Waproxy-Secret", "webhooks.secret_header")
	fs.StringVar(&c.callbackSecret, "callback-secret", "", "the phone number's callback_secret (required)")
	fs.StringVar(&c.appSecret, "app-secret", "", "the tenant's webhook.app_secret (required)")
	fs.StringVar(&c.receiverAddr, "receiver", "127.0.0.1:0", "listen address of the webhook receiver (the tenant's webhook url is http://ADDR/webhook)")
	fs.StringVar(&c.body.AppID, "app", "", "gs_app_id in the callbacks (default: the intake URL's last segment)")
	fs.StringVar(&c.body.WABAID, "waba", "200000000000001", "entry[].id (WABA id) in the callbacks")
	fs.StringVar(&c.body.PhoneID, "gs-phone-id", "158072934066266", "Gupshup's metadata.phone_number_id in the callbacks")
	fs.StringVar(&c.body.DisplayPhone, "display-phone", "918375031069", "metadata.display_phone_number in the callbacks")
	fs.IntVar(&c.senders, "senders", 32, "concurrent senders (connections)")
	fs.IntVar(&c.events, "events", 50000, "measured events (with -duration: an upper bound, 0 = none)")
	fs.DurationVar(&c.duration, "duration", 0, "send for this long instead of a fixed number of events")
	fs.IntVar(&c.warmup, "warmup", 2000, "events sent and delivered before the measured phase")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 2*time.Minute, "how long to wait for deliveries after the last acknowledgement")
	fs.DurationVar(&c.ackTimeout, "ack-timeout", 30*time.Second, "timeout of one intake request")
	fs.IntVar(&c.pid, "pid", 0, "proxy process id: CPU time and RSS from /proc over the measured phase")
	fs.StringVar(&c.profileURL, "pprof", "", "base URL of the proxy's net/http/pprof (a profiling build): CPU profile of the measured phase")
	fs.StringVar(&c.profileOut, "pprof-out", "relay", "file name prefix of the profiles (PREFIX.cpu.pprof, .block.pprof, .mutex.pprof)")
	fs.IntVar(&c.profileSeconds, "pprof-seconds", 10, "length of the CPU profile")
	fs.Float64Var(&c.target, "target", 5000, "events/s target: target_met when accepted/s and delivered/s both reach it")
	fs.Func("set", "KEY=VALUE recorded under settings.proxy (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		c.notes[k] = v
		return nil
	})
	fs.StringVar(&c.syncProbeDir, "sync-probe", "", "directory (the store's) to time 4 KiB write+fsync in before and after the load")
	fs.StringVar(&c.out, "o", "", "write the JSON here too")
	freePorts := fs.Int("free-ports", 0, "print this many free loopback TCP ports and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *freePorts > 0 {
		return printFreePorts(stdout, *freePorts)
	}
	if c.intake == "" || c.callbackSecret == "" || c.appSecret == "" {
		return errors.New("-intake, -callback-secret and -app-secret are required")
	}
	if c.duration > 0 {
		// With a duration, -events bounds the run only when given.
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "events" })
		if !set {
			c.events = 0
		}
	}
	if c.body.AppID == "" {
		c.body.AppID = c.intake[strings.LastIndexByte(c.intake, '/')+1:]
	}
	if c.senders < 1 || c.events < 0 || c.warmup < 0 || (c.events == 0 && c.duration <= 0) {
		return errors.New("need -senders >= 1 and -events > 0 or -duration > 0")
	}
	res, err := load(context.Background(), c, stderr)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if c.out != "" {
		if err := os.WriteFile(c.out, js, 0o644); err != nil {
			return err
		}
	}
	_, err = stdout.Write(js)
	return err
}

// printFreePorts asks the kernel for n free loopback ports (held together
// so they differ, then released).
func printFreePorts(w io.Writer, n int) error {
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	_, err := fmt.Fprintln(w, strings.Join(ports, " "))
	return err
}

// sent is one intake request.
type sent struct {
	seq        uint64
	start, end time.Duration // since t0
	status     int           // 0: transport error
}

// sender posts callbacks to the intake.
type sender struct {
	c      config
	run    uint32
	t0     time.Time
	client *http.Client
}

// phase sends events first, first+1, ... from c.senders goroutines until
// n events were sent (n > 0) and/or until the deadline (non-zero).
func (s *sender) phase(ctx context.Context, first uint64, n int, deadline time.Time) []sent {
	var next atomic.Uint64
	next.Store(first)
	var mu sync.Mutex
	var all []sent
	var wg sync.WaitGroup
	for range s.c.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sent
			for ctx.Err() == nil {
				if !deadline.IsZero() && time.Now().After(deadline) {
					break
				}
				seq := next.Add(1) - 1
				if n > 0 && seq >= first+uint64(n) {
					break
				}
				mine = append(mine, s.post(ctx, seq))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

func (s *sender) post(ctx context.Context, seq uint64) sent {
	body := callback(make([]byte, 0, 1024), s.c.body, s.run, seq, time.Now().Unix())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.intake, bytes.NewReader(body))
	if err != nil {
		return sent{seq: seq}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(s.c.secretHeader, s.c.callbackSecret)
	r := sent{seq: seq, start: time.Since(s.t0)}
	resp, err := s.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		r.status = resp.StatusCode
	}
	r.end = time.Since(s.t0)
	return r
}

// drain waits until the receiver has want distinct events or timeout.
func drain(rc *receiver, want int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for rc.distinct() < want {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// Result is the JSON relayload prints; bench/relay.sh documents it.
type Result struct {
	Tool     string   `json:"tool"`
	Time     string   `json:"time"`
	Machine  Machine  `json:"machine"`
	Settings Settings `json:"settings"`
	Complete bool     `json:"complete"`

	Sent           int            `json:"sent"`
	Accepted       int            `json:"accepted"`
	Rejected       map[string]int `json:"rejected"`
	AcceptedPerSec float64        `json:"accepted_per_s"`
	AckMS          Latency        `json:"ack_ms"`

	Delivered       int     `json:"delivered"`
	Missing         int     `json:"missing"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	EndToEndPerSec  float64 `json:"end_to_end_per_s"`
	EndToEndMS      Latency `json:"end_to_end_ms"`

	ValidSignatures   int `json:"valid_signatures"`
	InvalidSignatures int `json:"invalid_signatures"`
	Duplicates        int `json:"duplicates"`
	Unknown           int `json:"unknown"`
	BacklogMax        int `json:"backlog_max"`

	SendSeconds  float64 `json:"send_s"`
	DrainSeconds float64 `json:"drain_s"`

	Proxy      *ProcStats  `json:"proxy,omitempty"`
	Generator  ProcStats   `json:"generator"`
	MachineCPU *MachineCPU `json:"machine_cpu,omitempty"`

	TargetPerSec float64 `json:"target_per_s"`
	TargetMet    bool    `json:"target_met"`

	SyncProbe *SyncProbe `json:"sync_probe,omitempty"`

	Profiles []string `json:"profiles,omitempty"`
	Timeline []Tick   `json:"timeline"`
}

// SyncProbe is the store disk's 4 KiB write+fsync latency (ms) measured
// just before and just after the load.
type SyncProbe struct {
	Before Latency `json:"before_ms"`
	After  Latency `json:"after_ms"`
}

// Settings echo the run's parameters.
type Settings struct {
	Intake       string            `json:"intake"`
	Senders      int               `json:"senders"`
	Events       int               `json:"events"`
	DurationS    float64           `json:"duration_s"`
	Warmup       int               `json:"warmup"`
	BodyBytes    int               `json:"callback_bytes"`
	StatusMix    []string          `json:"status_mix"`
	DrainTimeout float64           `json:"drain_timeout_s"`
	Proxy        map[string]string `json:"proxy,omitempty"`
}

// ProcStats is a process's CPU over the measured phase (first request to
// last delivery) and its memory at the end.
type ProcStats struct {
	PID          int     `json:"pid,omitempty"`
	CPUUserS     float64 `json:"cpu_user_s,omitempty"`
	CPUSysS      float64 `json:"cpu_sys_s,omitempty"`
	CPUS         float64 `json:"cpu_s"`
	CPUPer1k     float64 `json:"cpu_s_per_1k_events"`
	CPUCores     float64 `json:"cpu_cores"`
	RSSPeakMB    float64 `json:"rss_peak_mb,omitempty"`
	RSSEndMB     float64 `json:"rss_end_mb,omitempty"`
	WindowSecond float64 `json:"window_s"`
}

func load(ctx context.Context, c config, log io.Writer) (*Result, error) {
	t0 := time.Now()
	run := rand.Uint32()
	rc, err := newReceiver(c.receiverAddr, c.appSecret, run, t0)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	defer rc.Close()
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        2 * c.senders,
		MaxIdleConnsPerHost: c.senders,
		MaxConnsPerHost:     c.senders,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	s := &sender{c: c, run: run, t0: t0, client: &http.Client{Transport: tr, Timeout: c.ackTimeout}}

	var probe *SyncProbe
	if c.syncProbeDir != "" {
		probe = &SyncProbe{}
		if probe.Before, err = syncProbe(c.syncProbeDir, 200); err != nil {
			return nil, fmt.Errorf("-sync-probe: %w", err)
		}
	}

	// Warm-up: connections, the proxy's pools and the store file.
	if c.warmup > 0 {
		w := s.phase(ctx, 1, c.warmup, time.Time{})
		ok := 0
		for _, r := range w {
			if r.status == http.StatusOK {
				ok++
			}
		}
		if ok == 0 {
			return nil, fmt.Errorf("warm-up: no callback accepted (first status %d); is the proxy at %s configured for this app and secret?", w[0].status, c.intake)
		}
		if !drain(rc, ok, c.drainTimeout) {
			return nil, fmt.Errorf("warm-up: %d of %d events delivered within %s; is the tenant's webhook url %s?", rc.distinct(), ok, c.drainTimeout, rc.URL())
		}
	}
	before := rc.distinct()
	first := uint64(c.warmup) + 1

	res := &Result{Tool: "relayload", Time: t0.UTC().Format(time.RFC3339), Machine: machine(), TargetPerSec: c.target,
		Rejected: map[string]int{}, SyncProbe: probe}
	res.Settings = Settings{Intake: c.intake, Senders: c.senders, Events: c.events, DurationS: c.duration.Seconds(),
		Warmup: c.warmup, StatusMix: statuses[:], DrainTimeout: c.drainTimeout.Seconds(), Proxy: c.notes,
		BodyBytes: len(callback(nil, c.body, run, first, t0.Unix()))}

	// Measured phase.
	var pUser0, pSys0 time.Duration
	if c.pid > 0 {
		if pUser0, pSys0, err = cpuTimes(c.pid); err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
	}
	self0 := selfCPU()
	mach0, mach0Err := machineTicks()
	var profiles sync.WaitGroup
	var profileMu sync.Mutex
	if c.profileURL != "" {
		profiles.Add(1)
		go func() {
			defer profiles.Done()
			name := c.profileOut + ".cpu.pprof"
			if err := fetch(c.profileURL+"/debug/pprof/profile?seconds="+strconv.Itoa(c.profileSeconds), name); err != nil {
				fmt.Fprintln(log, "relayload: cpu profile:", err)
				return
			}
			profileMu.Lock()
			res.Profiles = append(res.Profiles, name)
			profileMu.Unlock()
		}()
	}
	phaseStart := time.Since(t0)
	var deadline time.Time
	if c.duration > 0 {
		deadline = time.Now().Add(c.duration)
	}
	recs := s.phase(ctx, first, c.events, deadline)
	sendEnd := time.Since(t0)
	accepted := 0
	for _, r := range recs {
		if r.status == http.StatusOK {
			accepted++
		}
	}
	res.Complete = drain(rc, before+accepted, c.drainTimeout)
	drainEnd := time.Since(t0)
	window := drainEnd - phaseStart
	if c.pid > 0 {
		p := &ProcStats{PID: c.pid, WindowSecond: round(window.Seconds(), 3)}
		if u, sy, err := cpuTimes(c.pid); err == nil {
			p.CPUUserS, p.CPUSysS = round((u-pUser0).Seconds(), 2), round((sy-pSys0).Seconds(), 2)
			p.CPUS = round((u + sy - pUser0 - pSys0).Seconds(), 2)
		}
		if hwm, rss, err := memKB(c.pid); err == nil {
			p.RSSPeakMB, p.RSSEndMB = round(float64(hwm)/1024, 1), round(float64(rss)/1024, 1)
		}
		res.Proxy = p
	}
	res.Generator = ProcStats{CPUS: round((selfCPU() - self0).Seconds(), 2), WindowSecond: round(window.Seconds(), 3)}
	if mach1, err := machineTicks(); err == nil && mach0Err == nil {
		res.MachineCPU = machineCPU(mach0, mach1, window)
	}
	if c.profileURL != "" {
		for _, kind := range []string{"block", "mutex"} {
			name := c.profileOut + "." + kind + ".pprof"
			if err := fetch(c.profileURL+"/debug/pprof/"+kind, name); err != nil {
				fmt.Fprintf(log, "relayload: %s profile: %v\n", kind, err)
				continue
			}
			profileMu.Lock()
			res.Profiles = append(res.Profiles, name)
			profileMu.Unlock()
		}
	}
	profiles.Wait()
	if probe != nil {
		if probe.After, err = syncProbe(c.syncProbeDir, 200); err != nil {
			return nil, fmt.Errorf("-sync-probe: %w", err)
		}
	}

	aggregate(res, recs, rc.deliveries(), rc.counts(), first, phaseStart, sendEnd, drainEnd)
	for _, p := range []*ProcStats{res.Proxy, &res.Generator} {
		if p != nil && res.Accepted > 0 {
			p.CPUPer1k = round(p.CPUS/float64(res.Accepted)*1000, 4)
			p.CPUCores = round(p.CPUS/window.Seconds(), 2)
		}
	}
	return res, nil
}

// aggregate fills res from the measured requests (events >= first) and
// the receiver's deliveries and counters. Times are offsets from t0;
// phaseStart is when the measured phase began.
func aggregate(res *Result, recs []sent, dels []delivery, cn counts, first uint64, phaseStart, sendEnd, drainEnd time.Duration) {
	res.Sent = len(recs)
	var acks []time.Duration     // latency of each 200
	var ackAt []time.Duration    // when each 200 came, since phaseStart
	startOf := map[uint64]sent{} // accepted events
	firstStart, lastAck := time.Duration(-1), time.Duration(0)
	for _, r := range recs {
		if firstStart < 0 || r.start < firstStart {
			firstStart = r.start
		}
		if r.status != http.StatusOK {
			k := "transport_error"
			if r.status != 0 {
				k = "http_" + strconv.Itoa(r.status)
			}
			res.Rejected[k]++
			continue
		}
		res.Accepted++
		acks = append(acks, r.end-r.start)
		ackAt = append(ackAt, r.end-phaseStart)
		lastAck = max(lastAck, r.end)
		startOf[r.seq] = r
	}
	res.AckMS = summarize(acks)
	res.AcceptedPerSec = perSecond(res.Accepted, firstStart, lastAck)

	var e2e, delAt []time.Duration
	firstDel, lastDel := time.Duration(-1), time.Duration(0)
	for _, d := range dels {
		if d.seq < first {
			continue // warm-up
		}
		delAt = append(delAt, d.at-phaseStart)
		r, ok := startOf[d.seq]
		if !ok {
			continue // delivered although its request failed (e.g. timed out after storing)
		}
		res.Delivered++
		e2e = append(e2e, d.at-r.start)
		if firstDel < 0 || d.at < firstDel {
			firstDel = d.at
		}
		lastDel = max(lastDel, d.at)
	}
	res.Missing = res.Accepted - res.Delivered
	res.DeliveredPerSec = perSecond(res.Delivered, firstDel, lastDel)
	res.EndToEndPerSec = perSecond(res.Delivered, firstStart, lastDel)
	res.EndToEndMS = summarize(e2e)
	res.ValidSignatures, res.InvalidSignatures = cn.Valid, cn.Invalid
	res.Duplicates, res.Unknown = cn.Duplicates, cn.Unknown
	res.Timeline = timeline(ackAt, delAt)
	res.BacklogMax = maxBacklog(res.Timeline)
	res.SendSeconds = round((sendEnd - phaseStart).Seconds(), 3)
	res.DrainSeconds = round((drainEnd - sendEnd).Seconds(), 3)
	res.TargetMet = res.Complete && res.InvalidSignatures == 0 &&
		res.AcceptedPerSec >= res.TargetPerSec && res.DeliveredPerSec >= res.TargetPerSec
}

// fetch GETs url into the file name.
func fetch(url, name string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
