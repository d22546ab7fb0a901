// Package hostinfo describes the machine a benchmark ran on, from /proc: what its reports print beside their
// figures, since a figure means little without the machine and its load. Each value is "unknown" where /proc
// does not say (another OS, a restricted container).
package hostinfo

import (
	"os"
	"strings"
)

// LoadAverage is the 1, 5 and 15 minute load averages, space-separated.
func LoadAverage() string {
	f := strings.Fields(read("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// CPUModel is the first model name in /proc/cpuinfo.
func CPUModel() string { return field(read("/proc/cpuinfo"), "model name") }

// MemTotal is the machine's RAM as /proc/meminfo says it ("24683568 kB").
func MemTotal() string { return field(read("/proc/meminfo"), "MemTotal") }

// Kernel is the running kernel's release ("6.18.44-fc-v1098").
func Kernel() string {
	if r := strings.TrimSpace(read("/proc/sys/kernel/osrelease")); r != "" {
		return r
	}
	return "unknown"
}

// field is the value of the first "key: value" line of text.
func field(text, key string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
