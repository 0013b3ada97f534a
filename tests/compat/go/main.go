// Command compat-driver runs one scenario of the fjord compatibility suite with one Go client
// library: `compat-driver CLIENT SCENARIO`, CLIENT being franz-go or sarama, with BOOTSTRAP,
// TOPIC and RUN_ID in the environment (the driver contract in tests/compat/SCENARIOS.md).
//
// Exit codes: 0 the scenario passed, 1 it failed, 2 bad invocation, 3 the client cannot do what
// the scenario asks (the harness reports a skip). The last line on stderr gives the reason.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

const (
	exitPassed      = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnsupported = 3

	// Every scenario finishes within 60 s (SCENARIOS.md); this bounds the whole run.
	scenarioTimeout = 60 * time.Second
)

// scenarioCtx is what the harness tells a scenario.
type scenarioCtx struct {
	context.Context
	bootstrap string
	topic     string
	runID     string
}

type scenario func(*scenarioCtx) error

// errUnsupported marks an error as "this client cannot do that"; the driver exits 3.
var errUnsupported = errors.New("not supported by this client")

var clients = map[string]map[string]scenario{
	"franz-go": {
		"seed":               franzSeed,
		"keyed":              franzKeyed,
		"headers":            franzHeaders,
		"compression":        franzCompression,
		"large":              franzLarge,
		"idempotent-restart": franzIdempotentRestart,
		"admin":              franzAdmin,
		"timestamps":         franzTimestamps,
		"long-poll":          franzLongPoll,
	},
	"sarama": {
		"seed":               saramaSeed,
		"keyed":              saramaKeyed,
		"headers":            saramaHeaders,
		"compression":        saramaCompression,
		"large":              saramaLarge,
		"idempotent-restart": saramaIdempotentRestart,
		"admin":              saramaAdmin,
		"timestamps":         saramaTimestamps,
		"long-poll":          saramaLongPoll,
	},
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: compat-driver CLIENT SCENARIO (CLIENT: %s)\n", strings.Join(names(clients), ", "))
		return exitUsage
	}
	scenarios, ok := clients[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown client %q (known: %s)\n", args[0], strings.Join(names(clients), ", "))
		return exitUsage
	}
	if args[1] == "group-member" {
		// Not a scenario: a long-running group member the harness drives (group.go).
		return runGroupMember(args[0])
	}
	run, ok := scenarios[args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown scenario %q (known: %s)\n", args[1], strings.Join(names(scenarios), ", "))
		return exitUsage
	}
	env := map[string]string{}
	for _, name := range []string{"BOOTSTRAP", "TOPIC", "RUN_ID"} {
		env[name] = os.Getenv(name)
		if env[name] == "" {
			fmt.Fprintf(os.Stderr, "environment variable %s is not set\n", name)
			return exitUsage
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	err := run(&scenarioCtx{Context: ctx, bootstrap: env["BOOTSTRAP"], topic: env["TOPIC"], runID: env["RUN_ID"]})
	switch {
	case err == nil:
		fmt.Printf("PASS %s %s\n", args[0], args[1])
		return exitPassed
	case errors.Is(err, errUnsupported):
		fmt.Fprintln(os.Stderr, oneLine(err))
		return exitUnsupported
	default:
		fmt.Fprintf(os.Stderr, "FAIL %s %s: %s\n", args[0], args[1], oneLine(err))
		return exitFailed
	}
}

func names[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// oneLine keeps the reason on the last stderr line, where the harness looks for it.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// debug tells whether DRIVER_DEBUG=1 asks for the client library's own log on stderr.
func debug() bool {
	return os.Getenv("DRIVER_DEBUG") == "1"
}

// progress prints a line on stdout for the harness's report.
func progress(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

// ready tells the harness that the idempotent-restart scenario has its first acknowledgement
// and the broker may be restarted now.
func ready() {
	fmt.Println("READY")
	_ = os.Stdout.Sync()
}
