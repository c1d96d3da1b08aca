#!/usr/bin/env node
'use strict';
/**
 * npm test — the whole check on a fresh machine: dependencies, services (PostgreSQL, Redis), migrations,
 * lint, typecheck, build, then every jest suite (unit and end-to-end) against the real services, then the
 * console's browser tests (scripts/test-console.js, Playwright in Debian's Chromium).
 * Extra arguments go to jest (e.g. `npm test -- test/meters`) and skip lint, typecheck, build and the browser.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, ensureDependencies, ensurePrometheus, ensureServices } = require('./lib/services');

function step(name, cmd, args) {
  const started = Date.now();
  process.stderr.write(`\n[test] ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  process.stderr.write(
    `[test] ${name} finished in ${((Date.now() - started) / 1000).toFixed(1)} s (exit ${r.status})\n`,
  );
  return r.status ?? 1;
}

(async () => {
  ensureDependencies();
  ensurePrometheus();
  process.env.NODE_ENV = 'test';
  const services = await ensureServices();
  let code = 0;
  try {
    const { migrate } = require('./lib/migrate');
    await migrate(services.databaseUrl);
    const jestArgs = process.argv.slice(2);
    const quick = jestArgs.length > 0;
    if (!quick) {
      code = step('lint', 'npm', ['run', '--silent', 'lint']) || code;
      code = step('typecheck', 'npm', ['run', '--silent', 'typecheck']) || code;
      const buildCode = step('build', 'npm', ['run', '--silent', 'build']);
      code = buildCode || code;
      // dist/ is now this source: the suites' child processes (api, worker, simulator) run it rather than
      // transpile the same source again through ts-node at every start (libs/testing startProcess).
      if (buildCode === 0) process.env.HES_E2E_FROM_BUILD = '1';
    }
    const resultFile = path.join(ROOT, '.data', 'jest-results.json');
    fs.mkdirSync(path.dirname(resultFile), { recursive: true });
    fs.rmSync(resultFile, { force: true });
    const jestCode = step('jest', 'npx', [
      'jest',
      '--runInBand',
      '--json',
      `--outputFile=${resultFile}`,
      ...jestArgs,
    ]);
    code = jestCode || code;
    if (fs.existsSync(resultFile)) {
      const r = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
      console.log(
        `\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
      );
      if (r.numTotalTests === 0) code = code || 1;
    }
    if (!quick) {
      // The operator console in a real browser, against the api, worker and simulator (just built).
      process.env.CONSOLE_SKIP_BUILD = '1';
      process.env.CONSOLE_E2E_COMPILED = '1';
      code = step('console', 'node', ['scripts/test-console.js']) || code;
    }
  } finally {
    await services.stop();
  }
  process.exit(code);
})().catch((err) => {
  console.error(`[test] ${err.stack || err.message}`);
  process.exit(1);
});
