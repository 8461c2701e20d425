// Command httpd is the Go peer of ringo's HTTP benchmark server: net/http
// answering GET / with 200 "Hello, World!" (text/plain). It is driven by an
// external load generator (e.g. wrk); GOMAXPROCS comes from the environment.
//
// Usage: httpd [-addr 127.0.0.1:19002]    (runs until killed)
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
)

var body = []byte("Hello, World!")

func hello(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:19002", "listen address")
	flag.Parse()
	http.HandleFunc("/", hello)
	if err := http.ListenAndServe(*addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		os.Exit(1)
	}
}
