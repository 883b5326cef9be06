/**
 * Prometheus metrics of the networks, read at scrape time (one lease file
 * read and one /proc lookup per running network with dnsmasq):
 *
 *   tapbridge_network_active{network,mode,bridge}     1 running, 0 defined and stopped
 *   tapbridge_network_dnsmasq_up{network}             1 while the network's dnsmasq runs
 *                                                     (0: it died; nobody restarts it — net-destroy, net-start)
 *   tapbridge_network_dhcp_leases{network}            leases not yet expired
 *   tapbridge_network_dhcp_pool_size{network}         addresses in the DHCP range (alert before it runs out)
 */
import type { MetricMaker, Sample } from "../metrics.js";
import type { NetworkManager } from "./manager.js";

export function registerNetworkMetrics(networks: NetworkManager, gauge: MetricMaker): void {
  gauge("tapbridge_network_active", "1 while the network runs, 0 when it is defined and stopped", ["network", "mode", "bridge"], () =>
    networks.list(true).map((r): Sample => [{ network: r.name, mode: r.mode, bridge: r.bridge }, r.active ? 1 : 0]),
  );
  gauge("tapbridge_network_dnsmasq_up", "1 while the network's dnsmasq runs", ["network"], () =>
    networks.dnsmasqHealth().map(([network, up]): Sample => [{ network }, up ? 1 : 0]),
  );
  gauge("tapbridge_network_dhcp_leases", "DHCP leases of the network not yet expired", ["network"], () => {
    const now = Date.now() / 1000;
    return networks.dhcpNetworks().map(({ name }): Sample => [{ network: name }, networks.leases(name).filter((l) => l.expiry === 0 || l.expiry > now).length]);
  });
  gauge("tapbridge_network_dhcp_pool_size", "addresses in the network's DHCP range", ["network"], () =>
    networks.dhcpNetworks().map(({ name, size }): Sample => [{ network: name }, size]),
  );
}
