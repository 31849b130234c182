// Package dnstest serves DNS TXT records on loopback for tests: a real DNS
// server (github.com/miekg/dns, over UDP and TCP on 127.0.0.1), and a
// *net.Resolver that asks only it. Tests of email domain verification
// publish and withdraw records with Set and Delete while the code under
// test looks them up through the standard resolver.
//
// A name without records answers NXDOMAIN; Fail makes a name answer
// SERVFAIL (a temporary failure). A Server is safe for concurrent use.
package dnstest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a DNS server on loopback.
type Server struct {
	Addr string // "127.0.0.1:port", UDP and TCP

	mu      sync.Mutex
	txt     map[string][]string // fully qualified, lower-case name →
	failing map[string]bool
	queries int
}

// Start starts a server on a free loopback port; it stops when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{txt: map[string][]string{}, failing: map[string]bool{}}
	// The UDP port is free, the same TCP port may not be (another test's
	// connection): try fresh ports a few times.
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return s
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }

// Set publishes TXT records at name, replacing its earlier ones.
func (s *Server) Set(name string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[fqdn(name)] = append([]string(nil), values...)
	delete(s.failing, fqdn(name))
}

// Delete withdraws every record at name (it answers NXDOMAIN).
func (s *Server) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.txt, fqdn(name))
	delete(s.failing, fqdn(name))
}

// Fail makes name answer SERVFAIL until Set or Delete.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[fqdn(name)] = true
}

// Queries is how many questions the server answered.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// Resolver returns a resolver that sends every question to s.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr)
		},
	}
}

// ServeDNS answers one question.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	s.mu.Lock()
	s.queries++
	for _, q := range req.Question {
		name := strings.ToLower(q.Name)
		if s.failing[name] {
			m.Rcode = dns.RcodeServerFailure
			break
		}
		vals, ok := s.txt[name]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if q.Qtype != dns.TypeTXT {
			continue // NOERROR, no answer
		}
		for _, v := range vals {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
				Txt: splitTXT(v),
			})
		}
	}
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}

// splitTXT cuts v into the 255-byte strings one TXT record holds.
func splitTXT(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}
