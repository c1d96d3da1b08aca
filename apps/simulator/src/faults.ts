/**
 * Fault modes a simulated meter can be in, their assignment across the fleet, and the broken answers
 * ("garbage") a misbehaving meter sends.
 */
import type { ServerResponse } from 'node:http';
import { prng } from './prng';

/**
 * `power-off`: the meter lost its supply: it answers nothing (connections refused or reset, like `dead`),
 * unlike `dead` or `blackhole` (a lost link) records no load profile while it lasts, and, pushing, sends
 * power-failure when it starts and power-restored when it ends.
 */
export const FAULT_MODES = [
  'ok',
  'dead',
  'blackhole',
  'slow',
  'error',
  'garbage',
  'flapping',
  'power-off',
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];
export type FaultFractions = Partial<Record<Exclude<FaultMode, 'ok'>, number>>;

export function isFaultMode(x: unknown): x is FaultMode {
  return typeof x === 'string' && (FAULT_MODES as readonly string[]).includes(x);
}

/**
 * Exact, seeded assignment: with 1000 meters and `dead: 0.05` exactly 50 meters are dead, and the same
 * seed picks the same ones, so tests and benchmarks can count on the numbers.
 */
export function assignFaults(count: number, fractions: FaultFractions, seed: number): FaultMode[] {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const rnd = prng(seed ^ 0xfa017);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  const modes: FaultMode[] = new Array<FaultMode>(count).fill('ok');
  let next = 0;
  let total = 0;
  for (const mode of FAULT_MODES) {
    if (mode === 'ok') continue;
    const f = fractions[mode] ?? 0;
    if (!(f >= 0 && f <= 1)) throw new Error(`fault fraction for ${mode} must be between 0 and 1, got ${f}`);
    total += f;
    const n = Math.round(f * count);
    for (let k = 0; k < n && next < count; k++) modes[order[next++]] = mode;
  }
  if (total > 1 + 1e-9) throw new Error(`fault fractions add up to ${total}, more than 1`);
  return modes;
}

/** What the server does with one request, once the meter's fault mode has been applied. */
export type FaultAction = 'ok' | 'reset' | 'blackhole' | 'slow' | 'error' | 'garbage';

export const GARBAGE_VARIANTS = ['invalid-json', 'html', 'truncated', 'empty'] as const;
export type GarbageVariant = (typeof GARBAGE_VARIANTS)[number];

const INVALID_JSON = '{"readings":[{"obisCode":"1-0:1.8.0.255","value":12,"unit":"Wh",';
const HTML =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>' +
  '<body><h1>502 Bad Gateway</h1><p>embedded web server</p></body></html>';
const TRUNCATED = '{"readings":[{"obisCode":"1-0:1.8.0.255","value":1234';

/**
 * Sends one broken answer, rotating through the variants per meter so every kind is seen: a JSON body
 * that stops mid-object, an HTML error page with status 200, a body shorter than its Content-Length (the
 * connection is then cut), and an empty 200.
 */
export function sendGarbage(res: ServerResponse, variant: GarbageVariant): void {
  switch (variant) {
    case 'invalid-json':
      res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', String(INVALID_JSON.length)]);
      res.end(INVALID_JSON);
      return;
    case 'html':
      res.writeHead(200, ['Content-Type', 'text/html', 'Content-Length', String(HTML.length)]);
      res.end(HTML);
      return;
    case 'truncated':
      res.writeHead(200, [
        'Content-Type',
        'application/json',
        'Content-Length',
        String(TRUNCATED.length * 4),
      ]);
      res.write(TRUNCATED, () => res.socket?.destroy());
      return;
    case 'empty':
      res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', '0']);
      res.end();
      return;
  }
}
