package main

import (
	"fmt"
	"net"
)

// checkPorts listens on the app's address (the listener is the one the
// app serves on) and checks that the dev provider's is free, before
// anything is written; a busy port names the flag that moves it.
func checkPorts(cfg config) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("quickstart: cannot listen on %s (%v): is another program using it? Choose another address with -addr, e.g. -addr localhost:8090", cfg.Addr, err)
	}
	if cfg.Issuer == "" {
		idp, err := net.Listen("tcp", cfg.DevIdPAddr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("quickstart: the development OpenID provider cannot listen on %s (%v): is another program using it? Choose another address with -dev-idp-addr, e.g. -dev-idp-addr localhost:8091", cfg.DevIdPAddr, err)
		}
		idp.Close()
	}
	return ln, nil
}
