/** Command line of the simulator: argv → SimulatorOptions, and the start-up report. */
import type { FaultFractions } from './faults';
import type { FormatOption, ManifestEntry, SimulatorOptions } from './types';

export const USAGE = `Usage: npm run simulator -- [options]
  --meters <n>            number of meters (default 100)
  --port <n>              gateway port, meters addressed by meterNumber (default 8080, 0 = ephemeral)
  --host <ip>             gateway bind address (default 127.0.0.1)
  --addresses <cidr|list> give each meter its own loopback address, e.g. 127.20.0.0/16
  --meter-port <n>        port of per-meter listeners (default: --port); alone: host, port n + index
  --format <f>            array | object | mixed (default mixed)
  --dead <f>              fraction of meters refusing/resetting connections
  --blackhole <f>         fraction accepting but never answering
  --slow <f>[:ms]         fraction answering after ms (default 3000)
  --error <f>             fraction answering HTTP 500
  --garbage <f>           fraction answering invalid JSON / HTML / truncated / empty bodies
  --flapping <f>[:n]      fraction alternating ok/dead every n reads (default 5)
  --seed <n>              seed of every per-meter value and choice (default 42)
  --prefix <text>         meter number prefix (default SIM → SIM-000001)
  --profile-period <s>    load profile capture period in seconds (default 900)
  --energy-unit <u>       Wh (scaler 0, default) or kWh (scaler -3) in format 1
  --manifest <file>       write [{ meterNumber, ipAddress, port, format, fault }] as JSON
  --control-port <n>      control API port on 127.0.0.1 (default 8099, 0 = ephemeral)
  --push <url>            meters push readings to <url>/push/readings (and alarms to <url>/push/alarms)
  --push-interval <s>     seconds between two pushes of a meter (default 30)
  --push-secrets <file>   JSON { meterNumber: secret } or [{ meterNumber, pushSecret }]; meters without
                          a secret push once given one (control API PUT /meters/:n/push-secret)
  --help`;

export interface CliOptions extends SimulatorOptions {
  help?: boolean;
  /** --push-secrets: read by main (parseArgs does no I/O). */
  pushSecretsPath?: string;
}

/** --push-secrets file content: `{ meterNumber: secret }` or manifest-like `[{ meterNumber, pushSecret }]`. */
export function parsePushSecrets(json: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(json)) {
    for (const e of json as unknown[]) {
      const entry = e as { meterNumber?: unknown; pushSecret?: unknown };
      if (typeof entry?.meterNumber === 'string' && typeof entry.pushSecret === 'string') {
        out[entry.meterNumber] = entry.pushSecret;
      }
    }
  } else if (typeof json === 'object' && json !== null) {
    for (const [n, secret] of Object.entries(json)) if (typeof secret === 'string') out[n] = secret;
  } else {
    throw new Error('--push-secrets: expected a JSON object or array');
  }
  return out;
}

function number(
  flag: string,
  text: string,
  { integer = false, min = -Infinity, max = Infinity } = {},
): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new Error(`${flag}: invalid value "${text}"`);
  }
  return n;
}

const fraction = (flag: string, text: string) => number(flag, text, { min: 0, max: 1 });

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { meters: 100, port: 8080, controlPort: 8099 };
  const faults: FaultFractions = {};
  let pushUrl: string | undefined;
  let pushIntervalS: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      o.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      value = argv[++i];
    }
    const port = () => number(flag, value, { integer: true, min: 0, max: 65535 });
    switch (flag) {
      case '--meters':
        o.meters = number(flag, value, { integer: true, min: 1 });
        break;
      case '--port':
        o.port = port();
        break;
      case '--host':
        o.host = value;
        break;
      case '--addresses':
        o.addresses = value;
        break;
      case '--meter-port':
        o.meterPort = port();
        break;
      case '--format':
        if (!['array', 'object', 'mixed'].includes(value))
          throw new Error(`--format: array, object or mixed`);
        o.format = value as FormatOption;
        break;
      case '--dead':
      case '--blackhole':
      case '--error':
      case '--garbage':
        faults[flag.slice(2) as 'dead' | 'blackhole' | 'error' | 'garbage'] = fraction(flag, value);
        break;
      case '--slow': {
        const [f, ms] = value.split(':');
        faults.slow = fraction(flag, f);
        if (ms !== undefined) o.slowMs = number(flag, ms, { integer: true, min: 0 });
        break;
      }
      case '--flapping': {
        const [f, n] = value.split(':');
        faults.flapping = fraction(flag, f);
        if (n !== undefined) o.flappingEvery = number(flag, n, { integer: true, min: 1 });
        break;
      }
      case '--seed':
        o.seed = number(flag, value, { integer: true });
        break;
      case '--prefix':
        o.prefix = value;
        break;
      case '--profile-period':
        o.profilePeriodSec = number(flag, value, { integer: true, min: 1, max: 86_400 });
        break;
      case '--energy-unit':
        if (value !== 'Wh' && value !== 'kWh') throw new Error('--energy-unit: Wh or kWh');
        o.energyUnit = value;
        break;
      case '--manifest':
        o.manifestPath = value;
        break;
      case '--control-port':
        o.controlPort = port();
        break;
      case '--push':
        if (!/^https?:\/\/[^/]+/.test(value))
          throw new Error('--push: an http(s) URL, e.g. http://127.0.0.1:5080');
        pushUrl = value;
        break;
      case '--push-interval':
        pushIntervalS = number(flag, value, { min: 0.1, max: 86_400 });
        break;
      case '--push-secrets':
        o.pushSecretsPath = value;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (Object.keys(faults).length) o.faults = faults;
  if (pushUrl) o.push = { url: pushUrl, intervalMs: Math.round((pushIntervalS ?? 30) * 1000) };
  else if (pushIntervalS !== undefined || o.pushSecretsPath)
    throw new Error('--push-interval/--push-secrets need --push');
  return o;
}

/** Where the meters answer: one line each for small fleets, a summary for large ones. */
export function describeFleet(meters: ManifestEntry[], gatewayUrl: string, manifestPath?: string): string[] {
  const lines: string[] = [];
  const dedicated = meters.some((m) => `http://${m.ipAddress}:${m.port}` !== gatewayUrl);
  if (meters.length <= 20) {
    for (const m of meters) {
      const where = dedicated ? `http://${m.ipAddress}:${m.port}` : `${gatewayUrl} (meterNumber in body)`;
      const extra =
        m.slowMs !== undefined
          ? `:${m.slowMs}ms`
          : m.flappingEvery !== undefined
            ? `:${m.flappingEvery}`
            : '';
      lines.push(`  ${m.meterNumber}  ${where}  format=${m.format}  fault=${m.fault}${extra}`);
    }
  } else {
    const tally = (key: 'fault' | 'format') =>
      Object.entries(
        meters.reduce<Record<string, number>>((acc, m) => ((acc[m[key]] = (acc[m[key]] ?? 0) + 1), acc), {}),
      )
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
    const first = meters[0];
    const last = meters[meters.length - 1];
    lines.push(`  meters ${first.meterNumber} … ${last.meterNumber}`);
    lines.push(
      dedicated
        ? `  own listeners: ${first.meterNumber} http://${first.ipAddress}:${first.port} … ${last.meterNumber} http://${last.ipAddress}:${last.port} (also via gateway)`
        : `  all via gateway ${gatewayUrl} with meterNumber in the body`,
    );
    lines.push(`  formats: ${tally('format')}`);
    lines.push(`  faults: ${tally('fault')}`);
    if (!manifestPath) lines.push('  (use --manifest <file> for the full list)');
  }
  if (manifestPath) lines.push(`  manifest written to ${manifestPath}`);
  return lines;
}
