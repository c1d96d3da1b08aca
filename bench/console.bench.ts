/**
 * The operator console's first page: JavaScript shipped (bytes, and gzip -9 as a compressing proxy or CDN
 * would send it; target ≤ 250 kB) and paint timings on loopback in Debian's Chromium (target: first
 * meaningful paint < 1.5 s). Real api (serving dist/console), worker and simulator, as the browser tests.
 *
 *   npm run bench:console
 *   BENCH_LOADS=10 npm run bench:console
 *
 * Each load is a cold one (new browser context: empty cache). Two first pages are measured: the login page
 * (a new visitor) and the fleet overview of a logged-in operator (token already in sessionStorage, what a
 * reload shows). "Meaningful" = the fleet overview's status counts show numbers fetched from the api (for
 * the login page, the form is usable); FCP and LCP are Chromium's own. Prints medians and PASS/FAIL.
 */
import { chromium, type Browser } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { startConsoleStack } from '../apps/console/e2e/stack';
import { envNumber, percentile, runBench } from './bench-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureChromium, CHROMIUM_ARGS } = require('../scripts/lib/chromium') as {
  ensureChromium(): string;
  CHROMIUM_ARGS: string[];
};

const LOADS = Math.floor(envNumber('BENCH_LOADS', 5, 1, 50));
const TARGET_JS_GZIP_BYTES = 250 * 1024;
const TARGET_MEANINGFUL_PAINT_MS = 1500;

interface Load {
  jsBytes: number;
  jsGzipBytes: number;
  fcpMs: number;
  lcpMs: number;
  meaningfulMs: number;
}

async function load(
  browser: Browser,
  url: string,
  ready: string,
  session: { token: string; user: unknown } | null,
): Promise<Load> {
  const context = await browser.newContext();
  if (session) {
    await context.addInitScript(
      `sessionStorage.setItem('hes.session', ${JSON.stringify(JSON.stringify(session))});`,
    );
  }
  const page = await context.newPage();
  const scripts: Promise<Buffer>[] = [];
  page.on('response', (res) => {
    if (res.request().resourceType() === 'script') scripts.push(res.body());
  });
  await page.addInitScript(`
    window.__lcp = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__lcp = e.startTime;
    }).observe({ type: 'largest-contentful-paint', buffered: true });
  `);
  await page.goto(url);
  await page.waitForFunction(ready);
  const meaningfulMs = (await page.evaluate('performance.now()')) as number;
  await page.waitForTimeout(200); // let LCP settle
  const paint = (await page.evaluate(
    `({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN, lcp: window.__lcp })`,
  )) as { fcp: number; lcp: number };
  const bodies = await Promise.all(scripts);
  await context.close();
  return {
    jsBytes: bodies.reduce((n, b) => n + b.length, 0),
    jsGzipBytes: bodies.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
    fcpMs: paint.fcp,
    lcpMs: paint.lcp,
    meaningfulMs,
  };
}

function report(name: string, loads: Load[]): boolean {
  const median = (pick: (l: Load) => number) =>
    percentile(
      loads.map(pick).sort((a, b) => a - b),
      0.5,
    );
  const js = loads[0]!;
  const meaningful = median((l) => l.meaningfulMs);
  const ok = js.jsGzipBytes <= TARGET_JS_GZIP_BYTES && meaningful < TARGET_MEANINGFUL_PAINT_MS;
  console.log(
    `${name}: JS ${(js.jsBytes / 1024).toFixed(1)} kB (${(js.jsGzipBytes / 1024).toFixed(1)} kB gzip); ` +
      `median of ${loads.length} cold loads: FCP ${median((l) => l.fcpMs).toFixed(0)} ms, ` +
      `LCP ${median((l) => l.lcpMs).toFixed(0)} ms, meaningful ${meaningful.toFixed(0)} ms ` +
      `(max ${Math.max(...loads.map((l) => l.meaningfulMs)).toFixed(0)} ms) → ${ok ? 'PASS' : 'FAIL'}`,
  );
  return ok;
}

runBench(async () => {
  const build = spawnSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('console build failed');
  const executablePath = ensureChromium();
  const stack = await startConsoleStack({ meters: 10, intervalMs: 10_000, registerOnline: true });
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const { baseUrl, users } = stack.info;
    const login = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(users.operator),
    });
    const session = ((await login.json()) as { data: { token: string; user: unknown } }).data;
    // One warm-up load: the api's first requests (JIT, pools) are not what an operator sees.
    await load(browser, baseUrl, `document.querySelector('button[type=submit]')`, null);
    const loginLoads: Load[] = [];
    const fleetLoads: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      loginLoads.push(await load(browser, baseUrl, `document.querySelector('button[type=submit]')`, null));
      fleetLoads.push(
        await load(
          browser,
          baseUrl,
          `[...document.querySelectorAll('[data-testid^=count-] dd')].some((d) => /^\\d+$/.test(d.textContent))`,
          session,
        ),
      );
    }
    const ok = [report('login page', loginLoads), report('fleet overview', fleetLoads)].every(Boolean);
    console.log(`targets: JS ≤ 250 kB gzip, meaningful paint < 1.5 s (shared 2-core machine: indicative)`);
    if (!ok) process.exitCode = 1;
  } finally {
    await browser.close();
    await stack.stop();
  }
});
