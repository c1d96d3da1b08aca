'use strict';
/**
 * The browser tests drive Debian's Chromium (Playwright's own browser downloads cannot be used here).
 * ensureChromium() returns its path, installing the `chromium` package with apt-get when it is missing,
 * as services.js does for redis-server. CHROMIUM_PATH points elsewhere.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const log = (msg) => process.stderr.write(`[chromium] ${msg}\n`);

function findChromium() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

function ensureChromium() {
  const found = findChromium();
  if (found) return found;
  log('chromium is missing: installing it with apt-get…');
  const asRoot = process.getuid && process.getuid() === 0;
  const run = (args) =>
    execFileSync(asRoot ? args[0] : 'sudo', asRoot ? args.slice(1) : args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'chromium']);
  } catch {
    run(['apt-get', 'update', '-q']);
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'chromium']);
  }
  const installed = findChromium();
  if (!installed) throw new Error('chromium is not installed and could not be installed; set CHROMIUM_PATH');
  return installed;
}

/** The flags this machine needs (no sandbox as root, no GPU, no calls home that the closed network refuses). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

module.exports = { ensureChromium, findChromium, CHROMIUM_ARGS };
