import { BlockList, isIP } from 'node:net';

/**
 * The networks meters may be contacted on (METER_ALLOWED_NETWORKS). The api refuses to store a meter
 * address outside them and the worker refuses to contact one, so a compromised registry entry cannot
 * turn the head-end into a scanner of other networks.
 */
export class AllowedNetworks {
  private readonly list = new BlockList();

  private constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, prefixText] = cidr.split('/');
      const family = isIP(address);
      const prefix = Number(prefixText);
      if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`not a CIDR block: ${cidr}`);
      }
      this.list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
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
    const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address) : null;
    if (mapped) return this.list.check(mapped[1], 'ipv4');
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  toString(): string {
    return this.cidrs.join(',');
  }
}
