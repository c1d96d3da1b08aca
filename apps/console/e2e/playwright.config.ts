import { defineConfig } from '@playwright/test';
import * as path from 'node:path';
import { ARTIFACTS_DIR } from './paths';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findChromium, CHROMIUM_ARGS } = require('../../../scripts/lib/chromium') as {
  findChromium(): string | null;
  CHROMIUM_ARGS: string[];
};

/**
 * Browser tests of the operator console against the real api, worker and simulator (global-setup.ts),
 * in Debian's Chromium. `npm run test:console` (also the last step of a full `npm test`).
 */
export default defineConfig({
  testDir: __dirname,
  testMatch: '*.pw.ts',
  outputDir: path.join(ARTIFACTS_DIR, 'results'),
  globalSetup: path.join(__dirname, 'global-setup.ts'),
  // One system for all tests, and some tests change it (a dead meter, a disconnected one): one worker.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 20_000 },
  reporter: [['list'], ['html', { outputFolder: path.join(ARTIFACTS_DIR, 'report'), open: 'never' }]],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: findChromium() ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
    viewport: { width: 1280, height: 900 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
