#!/usr/bin/env node
'use strict';
/**
 * npm run test:console — the operator console's browser tests (Playwright + Debian's Chromium, installed
 * with apt-get when missing) against the real api, worker and simulator. Builds the console first unless
 * CONSOLE_SKIP_BUILD=1 (npm test has just built everything). Extra arguments go to `playwright test`.
 * Screenshots and failure traces: .data/console-e2e/.
 */
const { spawnSync } = require('node:child_process');
const { ROOT, ensureDependencies, ensureServices } = require('./lib/services');
const { ensureChromium } = require('./lib/chromium');

(async () => {
  ensureDependencies();
  ensureChromium();
  if (process.env.CONSOLE_SKIP_BUILD !== '1') {
    const build = spawnSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  // Kept up for the whole run: the tests' global setup reuses them instead of starting its own.
  const services = await ensureServices();
  let code = 1;
  try {
    const r = spawnSync(
      'npx',
      ['playwright', 'test', '-c', 'apps/console/e2e/playwright.config.ts', ...process.argv.slice(2)],
      { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
    );
    code = r.status ?? 1;
  } finally {
    await services.stop();
  }
  process.exit(code);
})().catch((err) => {
  console.error(`[test:console] ${err.stack || err.message}`);
  process.exit(1);
});
