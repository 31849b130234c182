package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// ErrRefusedAddress: the endpoint's URL names, or resolves to, an address
// webhooks never go to (loopback, private, link-local, metadata,
// unspecified, multicast) while Config.InsecureAllowPrivate is off.
var ErrRefusedAddress = errors.New("webhooks: destination address refused")

// refusedIP reports whether ip is of a class webhooks never go to.
func refusedIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip) || // carrier-grade NAT
		netip.MustParsePrefix("192.0.0.0/24").Contains(ip) ||
		netip.MustParsePrefix("198.18.0.0/15").Contains(ip) ||
		netip.MustParsePrefix("64:ff9b::/96").Contains(ip) || // NAT64 of any v4
		ip == netip.MustParseAddr("fd00:ec2::254") // AWS metadata over IPv6 (also private)
}

// dialControl refuses a connection to a refused address: it runs on the
// resolved IP of each dial, so a hostname that resolves (or rebinds) to
// loopback is refused too.
func dialControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefusedAddress, host)
	}
	if refusedIP(ip) {
		return fmt.Errorf("%w: %s", ErrRefusedAddress, ip)
	}
	return nil
}

// checkURL checks an endpoint URL when it is registered: absolute, https
// (http only with insecureHTTP), no user info, and no literal refused IP
// (names are checked when dialled).
func checkURL(raw string, insecureHTTP, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return invalid("url", "url must be an absolute https URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && insecureHTTP:
	default:
		return invalid("url", "url must use https")
	}
	if u.User != nil {
		return invalid("url", "url must not carry credentials")
	}
	if len(raw) > 2048 {
		return invalid("url", "url must be at most 2048 bytes")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !allowPrivate && refusedIP(ip) {
		return invalid("url", "url must not name a loopback, private, link-local or metadata address")
	}
	if !allowPrivate && (u.Hostname() == "localhost" || u.Hostname() == "metadata.google.internal") {
		return invalid("url", "url must not name a loopback, private, link-local or metadata address")
	}
	return nil
}
