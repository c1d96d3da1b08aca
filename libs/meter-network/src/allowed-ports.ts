/**
 * The TCP ports meters may be contacted on (METER_ALLOWED_PORTS): single ports and inclusive ranges,
 * e.g. `8080,80` or `8080,20000-29999`. With the networks, it keeps a registry entry from pointing the
 * head-end at a database, a cache or an admin interface that happens to share a network with meters.
 */
export class AllowedPorts {
  private constructor(private readonly ranges: readonly (readonly [number, number])[]) {}

  /** Parses `8080,80` or `8080,20000-29999`; throws on anything else. */
  static parse(list: string): AllowedPorts {
    const ranges = list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((item): [number, number] => {
        const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
        const low = Number(match?.[1]);
        const high = match?.[2] === undefined ? low : Number(match[2]);
        if (!match || !isPort(low) || !isPort(high) || high < low) {
          throw new Error(`not a port or port range: ${item}`);
        }
        return [low, high];
      });
    if (ranges.length === 0) throw new Error('no ports given');
    return new AllowedPorts(ranges);
  }

  contains(port: number): boolean {
    return isPort(port) && this.ranges.some(([low, high]) => port >= low && port <= high);
  }

  toString(): string {
    return this.ranges.map(([low, high]) => (low === high ? `${low}` : `${low}-${high}`)).join(',');
  }
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}
