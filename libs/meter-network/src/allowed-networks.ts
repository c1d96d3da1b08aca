import { BlockList, isIP } from 'node:net';

/**
 * The networks meters may be contacted on (METER_ALLOWED_NETWORKS). The api refuses to store a meter
 * address outside them and the worker refuses to contact one, so a compromised registry entry cannot
 * turn the head-end into a scanner of other networks.
 */
export class AllowedNetworks {
  private readonly list = new BlockList();
  /**
   * The IPv4 blocks again, as [network, mask] numbers: the worker checks before every exchange, and
   * BlockList.check builds a SocketAddress each time (~1 % of a busy worker). A miss here still asks the
   * BlockList, so the answer is always the BlockList's.
   */
  private readonly ipv4Blocks: [number, number][] = [];

  private constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, prefixText] = cidr.split('/');
      const family = isIP(address);
      const prefix = Number(prefixText);
      if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`not a CIDR block: ${cidr}`);
      }
      this.list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      if (family === 4) {
        const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
        this.ipv4Blocks.push([(ipv4Number(address) & mask) >>> 0, mask]);
      }
    }
  }

  /** Parses a comma-separated CIDR list such as `10.0.0.0/8, 127.0.0.0/8`. */
  static parse(list: string): AllowedNetworks {
    const cidrs = list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return new AllowedNetworks(cidrs);
  }

  /** True when `address` is an IP literal inside one of the networks (host names are never allowed). */
  contains(address: string): boolean {
    const family = isIP(address);
    if (!family) return false;
    if (family === 4 && this.inIpv4Block(address)) return true;
    const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address) : null;
    if (mapped) return this.list.check(mapped[1], 'ipv4');
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  toString(): string {
    return this.cidrs.join(',');
  }

  private inIpv4Block(address: string): boolean {
    const n = ipv4Number(address);
    for (const [network, mask] of this.ipv4Blocks) if ((n & mask) >>> 0 === network) return true;
    return false;
  }
}

/** A dotted-quad IPv4 literal (already checked by isIP) as an unsigned 32-bit number. */
function ipv4Number(address: string): number {
  let n = 0;
  for (const part of address.split('.')) n = n * 256 + Number(part);
  return n;
}
