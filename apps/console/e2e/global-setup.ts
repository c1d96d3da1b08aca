import * as fs from 'node:fs';
import * as path from 'node:path';
import { STACK_FILE } from './paths';
import { startConsoleStack } from './stack';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureChromium } = require('../../../scripts/lib/chromium') as { ensureChromium(): string };

export const E2E_METERS = 6;
export const E2E_INTERVAL_MS = 2000;
/**
 * Load profile entries every 10 s instead of 15 min, so that an entry flagged after a power failure is
 * recorded (and back-filled) within a test, not a quarter of an hour later.
 */
export const E2E_PROFILE_PERIOD_S = 10;

/** Starts the system once for every test; the returned function stops it after the last one. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  ensureChromium();
  const stack = await startConsoleStack({
    meters: E2E_METERS,
    intervalMs: E2E_INTERVAL_MS,
    startDead: true,
    // SIM-000005 and SIM-000006 in a second area, for the area-scoped user's test.
    eastMeters: 2,
    profilePeriodSec: E2E_PROFILE_PERIOD_S,
    // scripts/test.js runs these tests right after `npm run build`: the compiled apps start much faster.
    compiled: process.env.CONSOLE_E2E_COMPILED === '1',
  });
  fs.mkdirSync(path.dirname(STACK_FILE), { recursive: true });
  fs.writeFileSync(STACK_FILE, JSON.stringify(stack.info, null, 2), { mode: 0o600 });
  return async () => {
    await stack.stop();
    fs.rmSync(STACK_FILE, { force: true });
  };
}
