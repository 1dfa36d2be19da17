package main

import (
	"context"
	"net"

	"v2etcd/discover"
)

// srvLookup returns the lookup behind --discovery-srv (-D,
// ETCDCTL_DISCOVERY_SRV): the client URLs in the domain's SRV records,
// _etcd-client-ssl._tcp (https) and _etcd-client._tcp (http) combined, as
// discover.DNS.ClientURLs finds them through res. Its error, "dns lookup
// errors: <e1> and <e2>", is a client setup error: etcdctl prints it as it
// is and exits 1.
func srvLookup(res *net.Resolver) func(domain string) ([]string, error) {
	return func(domain string) ([]string, error) {
		return discover.DNS{Resolver: res}.ClientURLs(context.Background(), domain)
	}
}
