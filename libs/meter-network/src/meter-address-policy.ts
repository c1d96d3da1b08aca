import { isIP } from 'node:net';
import { AllowedNetworks } from './allowed-networks';
import { AllowedPorts } from './allowed-ports';

/** Port used when a meter has none configured (seed guide): what the worker contacts, what the api judges. */
export const DEFAULT_METER_PORT = 80;

/** Why a meter address may not be stored or contacted. */
export type MeterAddressRefusal = 'not-an-ip' | 'network' | 'port';

/**
 * Where meters may be: an IP literal inside METER_ALLOWED_NETWORKS and a port in METER_ALLOWED_PORTS.
 * One policy, applied where a meter address is stored (api: create, update, batch configuration), before
 * a command is queued (api) and before every exchange (worker transport). Only strict IP literals count:
 * `0x7f.1`, `2130706433`, `0177.0.0.1` or `127.1` are not addresses here (some resolvers would read
 * them as 127.0.0.1), and an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is judged
 * as the IPv4 address it reaches.
 */
export class MeterAddressPolicy {
  private constructor(
    readonly networks: AllowedNetworks,
    readonly ports: AllowedPorts,
  ) {}

  /** From the two settings' text (METER_ALLOWED_NETWORKS, METER_ALLOWED_PORTS). */
  static parse(networks: string, ports: string): MeterAddressPolicy {
    return new MeterAddressPolicy(AllowedNetworks.parse(networks), AllowedPorts.parse(ports));
  }

  /** The reason this address and port must not be used, or null when they may. */
  refusal(ipAddress: string, port: number): MeterAddressRefusal | null {
    if (!isIP(ipAddress)) return 'not-an-ip';
    if (!this.networks.contains(ipAddress)) return 'network';
    if (!this.ports.contains(port)) return 'port';
    return null;
  }

  /** A sentence for an operator: what is wrong and which setting decides it. */
  describe(refusal: MeterAddressRefusal, ipAddress: string, port: number): string {
    switch (refusal) {
      case 'not-an-ip':
        return `${ipAddress} is not an IP address`;
      case 'network':
        return `address ${ipAddress} is outside METER_ALLOWED_NETWORKS (${this.networks})`;
      case 'port':
        return `port ${port} is not in METER_ALLOWED_PORTS (${this.ports})`;
    }
  }
}

/**
 * The one spelling an address is stored with: an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`, `0:0:0:0:0:ffff:7f00:1`) as its IPv4 address, other IPv6 in lower case. `address`
 * must already be an IP literal.
 */
export function canonicalMeterAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = ipv6Groups(address.toLowerCase());
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (!mapped) return address.toLowerCase();
  return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
}

/** The eight 16-bit groups of a valid IPv6 literal (zone removed, dotted tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0];
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}
