// gofetch runs the pull loop of a Go worker against one server with the official Go client, nats.go 1.22.1 (the
// version issue #13 was measured with, and the one Debian ships as golang-github-nats-io-go-nats-dev):
// sub.Fetch(n), then msg.Ack() on each message, again until a stored backlog is drained. Only the loop is timed.
//
// nats.go's Fetch differs from NATS.Net's FetchAsync on the wire, which is why it is measured on its own: every
// request goes to the subscription's one reply inbox, a batch above 1 first asks with no_wait and asks again
// without it after a 404/408, and acks are plain publishes left in the connection's buffer for its flusher.
//
// It writes the same JSON fields perf/compare reads from perf/Load (status, msgs_per_sec, completed, errors,
// message, server_cpu_seconds). perf/gofetch/build.sh builds it in GOPATH mode against Debian's packages, since
// this machine reaches no Go module proxy.
package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

const (
	streamName   = "GOFETCH"
	consumerName = "GOFETCHC"
)

type result struct {
	Scenario         string   `json:"scenario"`
	Label            string   `json:"label"`
	Status           string   `json:"status"`
	Size             int      `json:"size"`
	Batch            int      `json:"batch"`
	Sent             int      `json:"sent"`
	Completed        int      `json:"completed"`
	Errors           int      `json:"errors"`
	ElapsedSeconds   float64  `json:"elapsed_seconds"`
	MsgsPerSec       float64  `json:"msgs_per_sec"`
	Measures         string   `json:"measures"`
	Message          string   `json:"message"`
	ServerCPUSeconds *float64 `json:"server_cpu_seconds,omitempty"`
}

func main() {
	url := flag.String("url", nats.DefaultURL, "server URL")
	batch := flag.Int("batch", 1, "messages per Fetch")
	msgs := flag.Int("msgs", 20000, "backlog to store and then fetch")
	size := flag.Int("size", 128, "payload bytes")
	warmup := flag.Float64("warmup", 0, "seconds of the same loop, unmeasured, on a stream of its own first")
	jsonPath := flag.String("json", "", "write the result here as JSON")
	label := flag.String("label", "", "server label for the result")
	serverPid := flag.Int("server-pid", 0, "sample this process's CPU time around the measured loop")
	flag.Parse()

	res := result{Scenario: "go-fetch", Label: *label, Size: *size, Batch: *batch, Sent: *msgs,
		Measures: fmt.Sprintf("backlog messages fetched and acked by nats.go Fetch(%d) + Ack (1 durable pull consumer)", *batch)}
	if err := run(*url, *batch, *msgs, *size, *warmup, *serverPid, &res); err != nil {
		res.Status = "failed"
		res.Message = err.Error()
	}
	fmt.Printf("%s: %s, %d of %d messages in %.2f s, %.0f msgs/s (%.1f µs per Fetch(%d)+Ack) %s\n", res.Label, res.Status,
		res.Completed, res.Sent, res.ElapsedSeconds, res.MsgsPerSec, perFetchMicros(res), *batch, res.Message)
	if *jsonPath != "" {
		out, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonPath, append(out, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if res.Status == "failed" {
		os.Exit(1)
	}
}

func perFetchMicros(r result) float64 {
	if r.Completed == 0 {
		return 0
	}
	return r.ElapsedSeconds * 1e6 / (float64(r.Completed) / float64(r.Batch))
}

func run(url string, batch, msgs, size int, warmup float64, serverPid int, res *result) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(256))
	if err != nil {
		return err
	}

	// The silo's code tiers up over its first seconds of load; the warm-up runs the same loop on another stream.
	for deadline := time.Now().Add(time.Duration(warmup * float64(time.Second))); time.Now().Before(deadline); {
		if _, _, err := fetchBacklog(nc, js, streamName+"W", batch, min(msgs, 20000), size, time.Until(deadline)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}

	cpu0 := cpuSeconds(serverPid)
	done, elapsed, err := fetchBacklog(nc, js, streamName, batch, msgs, size, 5*time.Minute)
	if cpu1 := cpuSeconds(serverPid); cpu0 >= 0 && cpu1 >= 0 {
		used := cpu1 - cpu0
		res.ServerCPUSeconds = &used
	}
	res.Completed = done
	res.ElapsedSeconds = elapsed.Seconds()
	if elapsed > 0 {
		res.MsgsPerSec = float64(done) / elapsed.Seconds()
	}
	res.Errors = msgs - done
	switch {
	case err != nil:
		res.Status = "errors"
		res.Message = err.Error()
	case done < msgs:
		res.Status = "errors"
		res.Message = fmt.Sprintf("%d backlog messages not fetched", msgs-done)
	default:
		res.Status = "ok"
	}
	return nil
}

// fetchBacklog stores msgs messages in a fresh stream (not timed), then fetches and acks them in a loop until all
// are in or the time is up, and deletes the stream. It returns the messages fetched and the loop's time.
func fetchBacklog(nc *nats.Conn, js nats.JetStreamContext, stream string, batch, msgs, size int, limit time.Duration) (int, time.Duration, error) {
	subject := strings.ToLower(stream)
	_ = js.DeleteStream(stream)
	if _, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{subject}, Storage: nats.FileStorage}); err != nil {
		return 0, 0, fmt.Errorf("add stream: %w", err)
	}
	defer js.DeleteStream(stream)
	if _, err := js.AddConsumer(stream, &nats.ConsumerConfig{Durable: consumerName, AckPolicy: nats.AckExplicitPolicy,
		DeliverPolicy: nats.DeliverAllPolicy, MaxAckPending: max(10000, batch*4)}); err != nil {
		return 0, 0, fmt.Errorf("add consumer: %w", err)
	}
	if err := store(js, subject, msgs, size); err != nil {
		return 0, 0, err
	}
	sub, err := js.PullSubscribe(subject, consumerName, nats.Bind(stream, consumerName))
	if err != nil {
		return 0, 0, fmt.Errorf("pull subscribe: %w", err)
	}
	defer sub.Unsubscribe()

	done, fetches := 0, 0
	start := time.Now()
	deadline := start.Add(limit)
	for done < msgs && time.Now().Before(deadline) {
		got, err := sub.Fetch(batch, nats.MaxWait(5*time.Second))
		if err != nil && err != nats.ErrTimeout {
			return done, time.Since(start), fmt.Errorf("fetch: %w", err)
		}
		for _, m := range got {
			if err := m.Ack(); err != nil {
				return done, time.Since(start), fmt.Errorf("ack: %w", err)
			}
		}
		done += len(got)
		fetches++
	}
	elapsed := time.Since(start)
	// The last acks are still in the client's buffer; a flush makes them part of the run.
	err = nc.Flush()
	if os.Getenv("GOFETCH_VERBOSE") != "" {
		fmt.Printf("%s: %d messages in %d fetches, %.1f µs each\n", stream, done, fetches, float64(elapsed.Microseconds())/float64(max(fetches, 1)))
	}
	return done, elapsed, err
}

func store(js nats.JetStreamContext, subject string, msgs, size int) error {
	payload := make([]byte, size)
	for i := 0; i < msgs; i++ {
		if _, err := rand.Read(payload); err != nil {
			return err
		}
		if _, err := js.PublishAsync(subject, payload); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("backlog of %d messages not acked within 2 minutes", msgs)
	}
}

// cpuSeconds is a process's user+system CPU time from /proc, or -1 when it cannot be read.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// utime and stime are the 12th and 13th fields after the ")" that ends the command name; Linux counts in
	// clock ticks of 1/100 s on every platform this runs on.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}
