/** Per-meter listener addresses: expanding `127.20.0.0/16` and handing out address + port pairs. */
import { isIPv4 } from 'node:net';

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function toIp(n: number): string {
  return `${Math.floor(n / 16777216) % 256}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

export function isLoopback(ip: string): boolean {
  return ip === 'localhost' || ip === '::1' || (isIPv4(ip) && ip.startsWith('127.'));
}

/**
 * Up to `limit` host addresses from a CIDR or comma-separated list, skipping `.0` / `.255` last octets
 * (some clients treat them as network/broadcast) and any address in `exclude`. Only loopback addresses:
 * the simulator never listens on a real network unless --host says so.
 */
export function expandAddresses(spec: string | string[], limit: number, exclude: string[] = []): string[] {
  const items = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim()).filter(Boolean);
  const out: string[] = [];
  const skip = new Set(exclude);
  for (const item of items) {
    const [base, bitsText] = item.split('/');
    if (!isIPv4(base)) throw new Error(`--addresses: ${item} is not an IPv4 address or CIDR`);
    if (!base.startsWith('127.'))
      throw new Error(`--addresses: ${item} is not a loopback (127.0.0.0/8) range`);
    if (bitsText === undefined) {
      if (!skip.has(base)) out.push(base);
      continue;
    }
    const bits = Number(bitsText);
    if (!Number.isInteger(bits) || bits < 8 || bits > 32)
      throw new Error(`--addresses: bad prefix in ${item}`);
    const size = 2 ** (32 - bits);
    const network = Math.floor(toInt(base) / size) * size;
    for (let n = network; n < network + size && out.length < limit; n++) {
      const last = n % 256;
      if (last === 0 || last === 255) continue;
      const ip = toIp(n);
      if (!skip.has(ip)) out.push(ip);
    }
    if (out.length >= limit) break;
  }
  if (out.length === 0) throw new Error(`--addresses: ${items.join(',')} holds no usable address`);
  return out.slice(0, limit);
}

/** Meter i gets address i mod n; when meters outnumber addresses they move to the next port. */
export function endpointFor(
  index: number,
  addresses: string[],
  basePort: number,
): { ipAddress: string; port: number } {
  const round = Math.floor(index / addresses.length);
  const port = basePort === 0 ? 0 : basePort + round;
  if (port > 65535) throw new Error(`not enough ports: meter ${index + 1} would need port ${port}`);
  return { ipAddress: addresses[index % addresses.length], port };
}
