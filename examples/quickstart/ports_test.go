package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A busy port stops the quickstart before it writes anything, and the
// message names the flag to use.
func TestBusyPortWritesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	for _, tt := range []struct{ addr, idp, flag string }{
		{busy.Addr().String(), free(), "-addr"},
		{free(), busy.Addr().String(), "-dev-idp-addr"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		cfg := config{Addr: tt.addr, DevIdPAddr: tt.idp, DataDir: dir, BaseURL: "http://" + tt.addr}
		err := run(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("busy %s: err %v, want it to name %s", tt.flag, err, tt.flag)
		}
		if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
			t.Errorf("busy %s: the data folder was written (%v)", tt.flag, serr)
		}
	}
}
