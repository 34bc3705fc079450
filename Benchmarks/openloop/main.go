// openloop: an open-loop HTTP/1.1 load generator. Request i is due at
// start + i/rate whatever happened to earlier ones, and its latency is measured
// from that scheduled time, so a stall in the system under test shows up in the
// percentiles instead of silently lowering the offered load (coordinated
// omission). Keep-alive connections, up to -connections at once. For https
// URLs, -cacert is the CA to verify the server with and -servername the name
// to ask for and verify (the URL may name 127.0.0.1); -header adds a field to
// every request (repeatable).
//
//	go run . -url http://127.0.0.1:18001/ -rate 1000 -duration 20s -body 1024
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	url := flag.String("url", "", "target URL")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 3*time.Second, "sent first, not measured")
	bodySize := flag.Int("body", 1024, "request body bytes (POST)")
	connections := flag.Int("connections", 64, "most concurrent connections")
	caFile := flag.String("cacert", "", "PEM CA to verify an https server with")
	serverName := flag.String("servername", "", "TLS server name (SNI and verification); also the Host header")
	var headers headerList
	flag.Var(&headers, "header", "a request header, name: value (repeatable)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "openloop: -url is required")
		os.Exit(64)
	}
	body := bytes.Repeat([]byte("w"), *bodySize)
	transport := &http.Transport{MaxConnsPerHost: *connections, MaxIdleConnsPerHost: *connections, DisableCompression: true}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "openloop:", err)
			os.Exit(66)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		// HTTP/1.1 over TLS: a custom TLS configuration keeps Go off HTTP/2.
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, ServerName: *serverName}
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	newRequest := func() *http.Request {
		request, _ := http.NewRequest("POST", *url, bytes.NewReader(body))
		request.Header.Set("Content-Type", "application/octet-stream")
		for _, field := range headers {
			name, value, _ := strings.Cut(field, ":")
			request.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		if *serverName != "" {
			request.Host = *serverName
		}
		return request
	}

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
			response, err := client.Do(newRequest())
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
