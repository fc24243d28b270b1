package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuTimes reads a process's user and system CPU time from
// /proc/<pid>/stat (fields 14 and 15).
func cpuTimes(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStat(b)
}

// parseStat extracts utime and stime from the text of /proc/<pid>/stat.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted after its last ')'.
func parseStat(b []byte) (user, sys time.Duration, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("stat: %d fields", len(f)+2)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	tick := time.Second / clockTicks
	return time.Duration(u) * tick, time.Duration(s) * tick, nil
}

// memKB reads VmHWM (peak RSS) and VmRSS from /proc/<pid>/status, in KiB.
func memKB(pid int) (hwm, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch {
		case err != nil:
		case k == "VmHWM":
			hwm = n
		case k == "VmRSS":
			rss = n
		}
	}
	return hwm, rss, sc.Err()
}

// MachineCPU is the whole machine's CPU over the measured phase, from
// /proc/stat, in cores (core-seconds / window): what the proxy and
// relayload took is part of busy; irq is irq+softirq (on loopback mostly
// network processing); iowait is idle time with a sync outstanding.
type MachineCPU struct {
	Cores      int     `json:"cores"`
	BusyCores  float64 `json:"busy_cores"`
	IRQCores   float64 `json:"irq_cores"`
	IOWaitCore float64 `json:"iowait_cores"`
	WindowS    float64 `json:"window_s"`
}

// cpuTicks are the aggregate counters of /proc/stat, in clock ticks.
type cpuTicks struct{ busy, irq, iowait int64 }

// machineTicks reads the aggregate "cpu" line of /proc/stat.
func machineTicks() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseCPULine(line)
}

// parseCPULine parses "cpu  user nice system idle iowait irq softirq
// steal ...": busy is user+nice+system+irq+softirq+steal.
func parseCPULine(line string) (cpuTicks, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTicks{}, fmt.Errorf("/proc/stat: cpu line %q", line)
	}
	var n [8]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return cpuTicks{}, fmt.Errorf("/proc/stat: cpu line %q: %v", line, err)
		}
		n[i] = v
	}
	return cpuTicks{busy: n[0] + n[1] + n[2] + n[5] + n[6] + n[7], irq: n[5] + n[6], iowait: n[4]}, nil
}

// machineCPU is the machine's CPU between two readings window apart.
func machineCPU(a, b cpuTicks, window time.Duration) *MachineCPU {
	w := window.Seconds()
	if w <= 0 {
		return nil
	}
	cores := func(ticks int64) float64 { return round(float64(ticks)/clockTicks/w, 2) }
	return &MachineCPU{Cores: runtime.NumCPU(), BusyCores: cores(b.busy - a.busy), IRQCores: cores(b.irq - a.irq),
		IOWaitCore: cores(b.iowait - a.iowait), WindowS: round(w, 3)}
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// syncProbe times n overwrites of one 4 KiB block, each followed by
// fsync, in a scratch file in dir: the disk's durable-write latency, which
// bounds the store's commits (two syncs each). It is run before and after
// the load, not during it.
func syncProbe(dir string, n int) (Latency, error) {
	f, err := os.CreateTemp(dir, "relayload-sync-probe-*")
	if err != nil {
		return Latency{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 4096)
	if _, err := f.WriteAt(block, 0); err != nil {
		return Latency{}, err
	}
	if err := f.Sync(); err != nil {
		return Latency{}, err
	}
	d := make([]time.Duration, 0, n)
	for i := range n {
		block[0] = byte(i)
		t := time.Now()
		if _, err := f.WriteAt(block, 0); err != nil {
			return Latency{}, err
		}
		if err := f.Sync(); err != nil {
			return Latency{}, err
		}
		d = append(d, time.Since(t))
	}
	return summarize(d), nil
}
