// The Go side of procs-effect: net/http serving the same answers as http-hello
// ("Hello, world!\n" on /, a small JSON document on /json), on 127.0.0.1 only.
// GOMAXPROCS comes from the environment. Prints "listening on ADDR" once it accepts.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

const doc = `{"id":1,"name":"goro","tags":["g","p","m"],"scores":[1.5,2.5,3.5,4.5],"nested":{"a":1,"b":"two","c":[true,false]}}`

func main() {
	addr := "127.0.0.1:0"
	for i := 1; i+1 < len(os.Args); i++ {
		if os.Args[i] == "--addr" {
			addr = os.Args[i+1]
		}
	}
	if !strings.HasPrefix(addr, "127.") {
		fmt.Fprintln(os.Stderr, "go-server: loopback addresses only")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-server:", err)
		os.Exit(1)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("Hello, world!\n"))
	})
	http.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]interface{}
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		v["path"] = r.URL.Path
		out, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
	fmt.Printf("listening on %s (go net/http)\n", ln.Addr())
	http.Serve(ln, nil)
}
