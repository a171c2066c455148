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

	"golang.org/x/sys/unix"
)

// This file holds the Linux specifics: CPU pinning, the file limit, and
// the process's own CPU time and resident set size.

// pinToCPU moves every thread of this process onto cpu. Threads started
// later inherit the mask of the thread that starts them, so one pass over
// /proc/self/task after start-up covers the process; a second pass
// catches a thread born during the first.
func pinToCPU(cpu int) error {
	if cpu >= 0 && cpu >= runtime.NumCPU() {
		return fmt.Errorf("cpu %d: this machine has %d", cpu, runtime.NumCPU())
	}
	var set unix.CPUSet
	set.Set(cpu)
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("sched_setaffinity(%d): %w", tid, err)
			}
		}
	}
	return nil
}

// raiseFileLimit lifts RLIMIT_NOFILE's soft limit to its hard limit:
// 10,000 connections need more descriptors than the usual 1,024.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// cpuTime returns this process's user and system CPU time, in seconds,
// from getrusage(RUSAGE_SELF).
func cpuTime() (user, sys float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime), tv(ru.Stime)
}

// rssBytes returns VmRSS from /proc/self/status: the resident memory now.
func rssBytes() int64 { return procStatusBytes("VmRSS:") }

// peakRSSBytes returns VmHWM from /proc/self/status: the most resident
// memory the process has had.
func peakRSSBytes() int64 { return procStatusBytes("VmHWM:") }

// procStatusBytes returns a field of /proc/self/status given in kB, in
// bytes; -1 when it cannot be read.
func procStatusBytes(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			f := strings.Fields(string(rest)) // "1234", "kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
