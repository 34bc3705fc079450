// openloop: an open-loop HTTP/1.1 load generator. Request i is due at
// start + i/rate whatever happened to earlier ones, and its latency is measured
// from that scheduled time, so a stall in the system under test shows up in the
// percentiles instead of silently lowering the offered load (coordinated
// omission). Keep-alive connections, up to -connections at once.
//
//	go run . -url http://127.0.0.1:18001/ -rate 1000 -duration 20s -body 1024
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "target URL")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 3*time.Second, "sent first, not measured")
	bodySize := flag.Int("body", 1024, "request body bytes (POST)")
	connections := flag.Int("connections", 64, "most concurrent connections")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "openloop: -url is required")
		os.Exit(64)
	}
	body := bytes.Repeat([]byte("w"), *bodySize)
	transport := &http.Transport{MaxConnsPerHost: *connections, MaxIdleConnsPerHost: *connections, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	total := int((*warmup + *duration).Seconds() * float64(*rate))
	warm := int(warmup.Seconds() * float64(*rate))
	latencies := make([]time.Duration, 0, total)
	var mutex sync.Mutex
	var group sync.WaitGroup
	errors := 0
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		group.Add(1)
		go func(i int, due time.Time) {
			defer group.Done()
			response, err := client.Post(*url, "application/octet-stream", bytes.NewReader(body))
			ok := err == nil
			if ok {
				io.Copy(io.Discard, response.Body)
				response.Body.Close()
				ok = response.StatusCode == 200
			}
			elapsed := time.Since(due)
			if i < warm {
				return
			}
			mutex.Lock()
			if ok {
				latencies = append(latencies, elapsed)
			} else {
				errors++
			}
			mutex.Unlock()
		}(i, due)
	}
	group.Wait()
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	percentile := func(p float64) int64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))].Microseconds()
	}
	fmt.Printf("requests=%d errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
		len(latencies), errors, percentile(0.50), percentile(0.90), percentile(0.99), percentile(1))
}
