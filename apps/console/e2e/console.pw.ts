/**
 * The operator console in a real browser (Debian's Chromium) against the real api, worker and simulator
 * started by global-setup.ts: 6 simulated meters polled every 2 s, registered offline and dead until the
 * first test revives them. The tests run in order and share that system.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACTS_DIR, STACK_FILE } from './paths';
import type { StackInfo } from './stack';

test.describe.configure({ mode: 'serial' });

const stack = (): StackInfo => JSON.parse(fs.readFileSync(STACK_FILE, 'utf8')) as StackInfo;
const SCREENSHOTS = path.join(ARTIFACTS_DIR, 'screenshots');
const CURRENT_L1 = '1-0:31.7.0.255';
const VOLTAGE_L1 = '1-0:32.7.0.255';

async function logIn(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.goto(stack().baseUrl);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Fleet overview' })).toBeVisible();
}

async function simulator(method: string, url: string, body: unknown): Promise<void> {
  const res = await fetch(`${stack().simControlUrl}${url}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.ok).toBe(true);
}

async function openMeter(page: Page, meterNumber: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Meters' }).click();
  await page.getByRole('link', { name: meterNumber, exact: true }).click();
  await expect(page.getByRole('heading', { name: new RegExp(`Meter ${meterNumber}`) })).toBeVisible();
}

const readingCell = (page: Page, obisCode: string) =>
  page.locator(`[data-testid="latest-readings"] tr[data-obis="${obisCode}"] [data-testid="reading-value"]`);

/** GET an api path as `user` (a fresh login), the `data` of its envelope. */
async function apiData<T>(user: { username: string; password: string }, url: string): Promise<T> {
  const { baseUrl } = stack();
  const login = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  expect(login.ok).toBe(true);
  const { token } = ((await login.json()) as { data: { token: string } }).data;
  const res = await fetch(`${baseUrl}${url}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.ok, `GET ${url}: ${res.status}`).toBe(true);
  return ((await res.json()) as { data: T }).data;
}

interface ProfileAnswer {
  capturePeriodSec: number;
  captureObjects: { obisCode: string; unit: string }[];
  entries: {
    timestamp: string;
    values: Record<string, { value: number | null; unit: string }>;
    flags: string[];
  }[];
}

/** The console's number format (src/format.ts formatValue). */
const shown = (value: number | null, unit: string) =>
  value === null ? '—' : `${String(Number(value.toFixed(3)))} ${unit}`;

async function shoot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

test('log in, and see the meters come online live on the fleet overview', async ({ page }) => {
  const { users, meters } = stack();
  await logIn(page, users.admin);
  await expect(page.getByTestId('count-online').locator('dd')).toHaveText('0');
  await expect(page.getByTestId('count-offline').locator('dd')).toHaveText(String(meters.length));
  await expect(page.getByTestId('live-indicator')).toHaveText('Live');

  await simulator('POST', '/faults', { mode: 'ok' });

  // The feed lists each meter's offline → online change as the worker publishes it, without a reload.
  const feed = page.getByTestId('status-feed');
  for (const m of meters) await expect(feed).toContainText(m.meterNumber);
  await expect(feed).toContainText('online');
  await expect(page.getByTestId('count-online').locator('dd')).toHaveText(String(meters.length));
  await expect(page.getByTestId('count-offline').locator('dd')).toHaveText('0');
  await expect(page.getByTestId('workers')).toHaveText('1');
  await expect(page.getByTestId('last-polled')).not.toHaveText('0');
  await shoot(page, 'fleet');
});

test('a meter page shows readings with names and units, and new readings arrive live', async ({ page }) => {
  const { users, meters } = stack();
  await logIn(page, users.admin);
  await openMeter(page, meters[0]!.meterNumber);
  await expect(page.getByTestId('meter-status')).toHaveText('online');
  const voltage = page.locator(`[data-testid="latest-readings"] tr[data-obis="${VOLTAGE_L1}"]`);
  await expect(voltage).toContainText('Voltage L1');
  await expect(voltage.getByTestId('reading-value')).toHaveText(/^\d+(\.\d+)? V$/);
  // The page never polls the api for readings: a changed read time can only come from a live event.
  const meta = page.getByTestId('latest-meta');
  const first = await meta.textContent();
  await expect(meta).not.toHaveText(first!);
  await expect(page.getByTestId('history-chart')).toBeVisible();
  await shoot(page, 'meter');
});

test('an operator runs an on-demand read and sees the result, its latency and the audit', async ({
  page,
}) => {
  const { users, meters } = stack();
  await logIn(page, users.operator);
  await openMeter(page, meters[0]!.meterNumber);
  await expect(page.getByRole('button', { name: 'Change status' })).toBeVisible();
  await page.getByRole('button', { name: 'Read now' }).click();
  const result = page.getByTestId('read-result');
  await expect(result).toContainText('meter answered in');
  await expect(result.getByTestId('read-latency')).toHaveText(/^\d+ ms$/);
  const audit = page.getByTestId('command-audit');
  await expect(audit.locator('tbody tr').first()).toContainText(users.operator.username);
  await expect(audit.locator('tbody tr').first()).toContainText('read');
  await expect(audit.locator('tbody tr').first()).toContainText('success');
});

test('disconnecting a meter asks for confirmation, then its current drops to 0', async ({ page }) => {
  const { users, meters } = stack();
  await logIn(page, users.operator);
  await openMeter(page, meters[0]!.meterNumber);
  await expect(readingCell(page, CURRENT_L1)).not.toHaveText(/^0 A$/);

  await page.getByRole('button', { name: 'Disconnect' }).click();
  const confirm = page.getByRole('alertdialog');
  await expect(confirm).toContainText(`disconnect the supply on meter ${meters[0]!.meterNumber}`);
  await shoot(page, 'meter-confirm-disconnect');
  await confirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('write-result')).toContainText('Written: 0-0:96.3.10.255 = disconnected');
  // The next scheduled poll (live) reports no current.
  await expect(readingCell(page, CURRENT_L1)).toHaveText('0 A');
  await expect(page.getByTestId('command-audit').locator('tbody tr').first()).toContainText(
    'connected → disconnected',
  );

  await page.getByRole('button', { name: 'Reconnect' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('write-result')).toContainText('= connected');
  await expect(readingCell(page, CURRENT_L1)).not.toHaveText('0 A');
});

test('a meter that dies in the simulator goes offline live on its page', async ({ page }) => {
  const { users, meters } = stack();
  const victim = meters[1]!.meterNumber;
  await logIn(page, users.viewer);
  await openMeter(page, victim);
  await expect(page.getByTestId('meter-status')).toHaveText('online');
  await simulator('PUT', `/meters/${victim}/fault`, { mode: 'dead' });
  try {
    await expect(page.getByTestId('meter-status')).toHaveText('offline');
    await shoot(page, 'meter-offline');
  } finally {
    await simulator('PUT', `/meters/${victim}/fault`, { mode: 'ok' });
  }
});

test('a viewer sees readings but no write or configure controls', async ({ page }) => {
  const { users, meters } = stack();
  await logIn(page, users.viewer);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await openMeter(page, meters[0]!.meterNumber);
  await expect(page.getByTestId('latest-readings')).toBeVisible();
  for (const name of ['Read now', 'Disconnect', 'Reconnect', 'Write…', 'Change status']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0);
  }
  await nav.getByRole('link', { name: 'Areas' }).click();
  await expect(page.getByTestId('areas-table')).toContainText('CONSOLE');
  await expect(page.getByRole('heading', { name: 'New area' })).toHaveCount(0);
  // Typed by hand, the admin page is not there either (and the api would answer 403).
  await page.goto(`${stack().baseUrl}/users`);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('a user deactivated while logged in is sent back to the login page', async ({ page }) => {
  const { baseUrl, users } = stack();
  const rest = async (method: string, url: string, token: string | null, body?: unknown) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.ok).toBe(true);
    return ((await res.json()) as { data: { token: string; id: string } }).data;
  };
  const admin = (await rest('POST', '/api/auth/login', null, users.admin)).token;
  const user = { username: `leaver-${Date.now().toString(36)}`, password: 'leaver-password' };
  const created = await rest('POST', '/api/users', admin, { ...user, role: 'operator' });
  await logIn(page, user);
  // The token survives a reload of the tab (sessionStorage)…
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Fleet overview' })).toBeVisible();
  // …and stops working once the user is deactivated: the next refresh of the page answers 401.
  await rest('PATCH', `/api/users/${created.id}`, admin, { isActive: false });
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
});

/** The API key of the tests below, created through the console (its secret is seen once, here). */
const integration = { name: `billing-${Date.now().toString(36)}`, secret: '' };

async function withKey(method: string, url: string, key: string, body?: unknown): Promise<Response> {
  return fetch(`${stack().baseUrl}${url}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

test('an admin creates an API key, sees its secret once, the key works and is refused once revoked', async ({
  page,
}) => {
  const { users, meters, eastArea } = stack();
  await logIn(page, users.admin);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
  const form = page.getByRole('form', { name: 'New API key' });
  await form.getByLabel('Name').fill(integration.name);
  await form.getByLabel('Role').selectOption('operator');
  await form.getByRole('group', { name: 'Areas' }).getByLabel('CONSOLE', { exact: true }).check();
  await form.getByRole('button', { name: 'Create key' }).click();

  const shown = page.getByTestId('new-key-secret');
  await expect(shown).toContainText('it is shown this once');
  integration.secret = await shown.getByTestId('secret-value').inputValue();
  expect(integration.secret).toMatch(/^hes_/);
  await shoot(page, 'api-key-created');
  await shown.getByRole('button', { name: 'I have stored it' }).click();
  // Once dismissed the secret is nowhere on the page, and the list shows only its prefix.
  await expect(shown).toHaveCount(0);
  const row = page.locator(`[data-testid="api-keys-table"] tr[data-key="${integration.name}"]`);
  await expect(row).toContainText(integration.secret.slice(0, 12));
  expect(await page.content()).not.toContain(integration.secret);
  await expect(row.getByTestId('key-last-used')).toHaveText('never');
  await expect(row).toContainText('CONSOLE');

  // The integration uses it: a read (its area's meters only), and a change that the audit trail must
  // attribute to the key.
  const read = await withKey('GET', '/api/meters?limit=1', integration.secret);
  expect(read.status).toBe(200);
  const { pagination } = (await read.json()) as { pagination: { total: number } };
  expect(pagination.total).toBe(meters.length - eastArea!.meterNumbers.length);
  const changed = await withKey('PATCH', '/api/areas/CONSOLE', integration.secret, {
    description: `Changed by ${integration.name}`,
  });
  expect(changed.status).toBe(200);
  await page.reload();
  await expect(row.getByTestId('key-last-used')).toHaveText(/^\d+ s ago$|^\d+ min ago$/);
  await shoot(page, 'api-keys');

  await row.getByRole('button', { name: `Revoke ${integration.name}` }).click();
  const confirm = page.getByRole('alertdialog');
  await expect(confirm).toContainText('cannot be undone');
  await confirm.getByRole('button', { name: 'Revoke' }).click();
  await expect(row.getByTestId('key-state')).toHaveText('revoked');
  await expect(row.getByRole('button', { name: /Revoke/ })).toHaveCount(0);
  expect((await withKey('GET', '/api/meters?limit=1', integration.secret)).status).toBe(401);
});

test('the audit page shows who changed what: the key, and the admin who revoked it', async ({ page }) => {
  const { users, baseUrl } = stack();
  await logIn(page, users.admin);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  const filters = page.getByRole('search', { name: 'Audit filters' });
  await filters.getByLabel('Actor (name or id)').fill(integration.name);
  await filters.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`/audit\\?actor=${integration.name}`));
  const table = page.getByTestId('audit-table');
  const byKey = table.locator('tr[data-action="area.update"]');
  await expect(byKey).toHaveCount(1);
  await expect(byKey.getByTestId('audit-actor')).toHaveText(`${integration.name} (API key)`);
  await expect(byKey).toContainText('success (200)');
  await expect(byKey.getByTestId('audit-changes')).toHaveText(
    `description: Simulated meters of the browser tests → Changed by ${integration.name}`,
  );

  // The revocation, by the admin, with its before/after.
  await filters.getByLabel('Actor (name or id)').fill(users.admin.username);
  await filters.getByLabel('Action').fill('api-key.');
  await filters.getByRole('button', { name: 'Apply' }).click();
  const revoked = table.locator('tr[data-action="api-key.revoke"]');
  await expect(revoked).toHaveCount(1);
  await expect(revoked.getByTestId('audit-actor')).toHaveText(`${users.admin.username} (user)`);
  await expect(revoked.getByTestId('audit-changes')).toContainText('revokedAt: null →');
  await expect(table.locator('tr[data-action="api-key.create"]')).toHaveCount(1);
  // A secret never reaches the trail.
  expect(await page.content()).not.toContain(integration.secret);
  await page.goto(`${baseUrl}/audit?action=api-key.`);
  await expect(table.locator('tbody tr')).toHaveCount(2);
  await shoot(page, 'audit');
});

test('an area-scoped user sees only their areas: meters, pickers, areas and the header', async ({ page }) => {
  const { users, meters, eastArea } = stack();
  const east = eastArea!;
  const scoped = { username: `east-${Date.now().toString(36)}`, password: 'east-viewer-password' };
  await logIn(page, users.admin);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Username').fill(scoped.username);
  await form.getByLabel('Password').fill(scoped.password);
  await form.getByRole('button', { name: 'Create' }).click();
  const row = page.getByTestId('users-table').locator('tr', { hasText: scoped.username });
  await expect(row.getByTestId('user-areas')).toHaveText(/^all/);
  // Areas are assigned on the users page.
  await row.getByRole('button', { name: `Change the areas of ${scoped.username}` }).click();
  await row
    .getByRole('group', { name: `Areas of ${scoped.username}` })
    .getByLabel(east.code)
    .check();
  await row.getByRole('button', { name: 'Save areas' }).click();
  await expect(row.getByTestId('user-areas')).toHaveText(new RegExp(`^${east.code}`));
  await shoot(page, 'users-areas');
  await page.getByRole('button', { name: 'Log out' }).click();

  await logIn(page, scoped);
  await expect(page.getByTestId('user-scope')).toHaveText(`Areas: ${east.code}`);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Users', 'API keys', 'Audit'])
    await expect(nav.getByRole('link', { name })).toHaveCount(0);
  // Fleet figures and the live feed are their areas': two meters, and only theirs change in the feed.
  await expect(page.getByTestId('count-online').locator('dd')).toHaveText(String(east.meterNumbers.length));
  const inside = east.meterNumbers[0]!;
  // Not meters[2]: the load profile test below needs a meter without earlier failures (no retry backoff).
  const outside = meters[3]!.meterNumber;
  for (const m of [inside, outside]) await simulator('PUT', `/meters/${m}/fault`, { mode: 'dead' });
  const feed = page.getByTestId('status-feed');
  try {
    await expect(feed).toContainText(`${inside} online → offline`);
  } finally {
    for (const m of [inside, outside]) await simulator('PUT', `/meters/${m}/fault`, { mode: 'ok' });
  }
  await expect(feed).toContainText(`${inside} offline → online`);
  // The other area's meter went offline and back at the same time: nothing of it reached this user.
  await expect(feed).not.toContainText(outside);
  await shoot(page, 'fleet-scoped');
  await nav.getByRole('link', { name: 'Meters' }).click();
  const rows = page.getByTestId('meters-table').locator('tbody tr');
  await expect(rows).toHaveCount(east.meterNumbers.length);
  for (const n of east.meterNumbers) await expect(page.locator(`tr[data-meter="${n}"]`)).toHaveCount(1);
  // The area picker offers their area and no other.
  const options = page.getByLabel('Area').locator('option');
  await expect(options).toHaveText(['any of yours', `Console east area (${east.code})`]);
  await shoot(page, 'meters-scoped');
  await nav.getByRole('link', { name: 'Areas' }).click();
  await expect(page.getByTestId('areas-table').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('areas-table')).not.toContainText('CONSOLE');
  // A meter of another area, typed by hand, does not exist for them.
  await page.goto(`${stack().baseUrl}/meters/${meters[0]!.id}`);
  await expect(page.getByRole('alert')).toContainText(/not found/i);
});

test('a meter page shows its load profile as the api has it: completeness, chart, latest entries, a power failure flagged, the CSV', async ({
  page,
}) => {
  const { users, meters } = stack();
  const meter = meters[2]!;
  const lastMinutes = () =>
    apiData<ProfileAnswer>(
      users.viewer,
      `/api/meters/${meter.id}/load-profile?from=${new Date(Date.now() - 600_000).toISOString()}`,
    );
  // The supply fails for 11 s (no entry recorded: a gap), comes back while the link is still down for
  // 11 s more (recording again, the first entry flagged), then the link too: the meter is back online and
  // its memory back-filled at once.
  await simulator('PUT', `/meters/${meter.meterNumber}/fault`, { mode: 'power-off' });
  await page.waitForTimeout(11_000);
  await simulator('PUT', `/meters/${meter.meterNumber}/fault`, { mode: 'dead' });
  await page.waitForTimeout(11_000);
  await simulator('PUT', `/meters/${meter.meterNumber}/fault`, { mode: 'ok' });
  await expect
    .poll(async () => (await lastMinutes()).entries.some((e) => e.flags.includes('powerDown')), {
      timeout: 30_000,
    })
    .toBe(true);

  await logIn(page, users.viewer);
  await openMeter(page, meter.meterNumber);
  const section = page.getByRole('region', { name: 'Load profile' });
  await section.getByLabel('Profile range').selectOption({ label: 'Last 6 hours' });
  const range = section.getByTestId('profile-range').locator('time');
  const from = await range.nth(0).getAttribute('datetime');
  const to = await range.nth(1).getAttribute('datetime');
  expect(Date.parse(to!) - Date.parse(from!)).toBe(6 * 3_600_000);
  const query = `from=${from}&to=${to}`;
  const profile = await apiData<ProfileAnswer>(users.viewer, `/api/meters/${meter.id}/load-profile?${query}`);
  const completeness = await apiData<{ expected: number; collected: number; missing: number }>(
    users.viewer,
    `/api/meters/${meter.id}/load-profile/completeness?${query}`,
  );

  // Completeness of the range, as the api counts it: the power failure left a gap.
  await expect(section.getByTestId('profile-expected')).toHaveText(String(completeness.expected));
  await expect(section.getByTestId('profile-collected')).toHaveText(String(completeness.collected));
  await expect(section.getByTestId('profile-missing')).toHaveText(String(completeness.missing));
  expect(completeness.missing).toBeGreaterThan(0);
  await expect(section.getByTestId('profile-chart')).toBeVisible();

  // The latest entries, newest first, with the api's values and units.
  const latest = profile.entries.slice(-24).reverse();
  const rows = section.getByTestId('profile-entries').locator('tbody tr');
  await expect(rows).toHaveCount(latest.length);
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-timestamp')))).toEqual(
    latest.map((e) => e.timestamp),
  );
  for (const o of profile.captureObjects) {
    const v = latest[0]!.values[o.obisCode]!;
    await expect(rows.first().locator(`td[data-obis="${o.obisCode}"]`)).toHaveText(shown(v.value, v.unit));
  }
  // The entry after the power failure carries its flag, in the list of flagged intervals and in its row.
  const failed = profile.entries.filter((e) => e.flags.includes('powerDown'));
  expect(failed.length).toBeGreaterThan(0);
  const flagged = section.getByTestId('profile-flagged');
  for (const e of failed)
    await expect(flagged.locator(`li[data-timestamp="${e.timestamp}"]`)).toContainText('power failure');
  await expect(section.locator(`tr[data-timestamp="${failed[0]!.timestamp}"]`)).toContainText(
    'power failure',
  );
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await section.screenshot({ path: path.join(SCREENSHOTS, 'meter-load-profile.png') });

  // The CSV of the same range: one line per entry the api has, units in the header, flags named.
  const download = page.waitForEvent('download');
  await section.getByRole('link', { name: 'Download CSV' }).click();
  const file = await (await download).path();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  expect(lines[0]).toBe(
    `timestamp,${profile.captureObjects.map((o) => `${o.obisCode} [${o.unit}]`).join(',')},status,flags`,
  );
  expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(profile.entries.map((e) => e.timestamp));
  expect(lines.filter((l) => l.endsWith(',powerDown'))).toHaveLength(failed.length);
});

test('the data completeness report shows the figures of the api for a day and an area, and links its worst meters', async ({
  page,
}) => {
  const { users, areaId } = stack();
  await logIn(page, users.operator);
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Data completeness' })
    .click();
  await expect(page.getByRole('heading', { name: 'Data completeness' })).toBeVisible();
  // Yesterday (UTC): a day that is over, so its figures no longer move while the test compares them.
  const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('Day (UTC)').fill(day);
  await page.getByLabel('Area').selectOption({ label: 'Console test area (CONSOLE)' });
  await expect(page).toHaveURL(new RegExp(`date=${day}&area=${areaId}`));
  const report = await apiData<{
    meters: number;
    metersComplete: number;
    metersWithGaps: number;
    intervalsExpected: number;
    intervalsCollected: number;
    shareCollected: number;
    worst: { meterId: string; meterNumber: string; missing: number }[];
  }>(users.operator, `/api/reports/completeness?date=${day}&area=${areaId}`);
  // The test area's meters: all but the second area's (EAST).
  const areaMeters = stack().meters.length - (stack().eastArea?.meterNumbers.length ?? 0);
  expect(report.meters).toBe(areaMeters);
  expect(report.intervalsCollected).toBeGreaterThan(0);
  await expect(page.getByTestId('kpi-meters').locator('dd')).toHaveText(String(report.meters));
  await expect(page.getByTestId('kpi-complete').locator('dd')).toHaveText(String(report.metersComplete));
  await expect(page.getByTestId('kpi-gaps').locator('dd')).toHaveText(String(report.metersWithGaps));
  await expect(page.getByTestId('kpi-share').locator('dd')).toHaveText(
    `${(report.shareCollected * 100).toFixed(1)} %`,
  );
  await expect(page.getByTestId('kpi-intervals')).toHaveText(
    `${report.intervalsCollected} of ${report.intervalsExpected} intervals collected.`,
  );
  const worst = page.getByTestId('worst-meters').locator('tbody tr');
  await expect(worst).toHaveCount(report.worst.length);
  expect(await worst.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-meter-id')))).toEqual(
    report.worst.map((m) => m.meterId),
  );
  await expect(worst.getByTestId('worst-missing')).toHaveText(report.worst.map((m) => String(m.missing)));

  const clocks = await apiData<{ checked: number; flagged: number; maxDriftSeconds: number }>(
    users.operator,
    `/api/reports/clock-drift?area=${areaId}&limit=20`,
  );
  expect(clocks.checked).toBe(areaMeters);
  await expect(page.getByTestId('clock-summary')).toHaveText(
    `${clocks.flagged} of ${clocks.checked} checked meters are more than ${clocks.maxDriftSeconds} s off.`,
  );
  await shoot(page, 'completeness');

  // The report survives a reload (its filters are in the address); a worst meter opens its page.
  await page.reload();
  await expect(page.getByTestId('kpi-meters').locator('dd')).toHaveText(String(report.meters));
  await worst.first().getByRole('link').click();
  await expect(
    page.getByRole('heading', { name: new RegExp(`Meter ${report.worst[0]!.meterNumber}`) }),
  ).toBeVisible();
});

test('the meters list pages by keyset: Next and Previous carry the cursor the api gave, whatever the depth', async ({
  page,
}) => {
  const { users, baseUrl } = stack();
  await logIn(page, users.viewer);
  const rows = page.getByTestId('meters-table').locator('tbody tr');
  const numbers = async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-meter')));
  const listRequest = (cursor: string | null) =>
    page.waitForRequest((r) => {
      const url = new URL(r.url());
      return url.pathname === '/api/meters' && url.searchParams.get('cursor') === cursor;
    });
  await page.goto(`${baseUrl}/meters?limit=2`);
  await expect(rows).toHaveCount(2);
  const first = await numbers();
  const pager = page.getByRole('navigation', { name: 'Pages' });

  // Page 2 is asked for after page 1's last meter, not by offset; page 3 after page 2's.
  let asked = listRequest(first[1]!);
  await pager.getByRole('button', { name: 'Next' }).click();
  await asked;
  await expect(pager).toContainText('Page 2 of');
  await expect(rows).toHaveCount(2);
  const second = await numbers();
  expect(second[0]! > first[1]!).toBe(true);
  expect(new URL(page.url()).searchParams.get('cursor')).toBe(first[1]);
  asked = listRequest(second[1]!);
  await pager.getByRole('button', { name: 'Next' }).click();
  await asked;
  await expect(pager).toContainText('Page 3 of');
  const third = await numbers();
  expect(third[0]! > second[1]!).toBe(true);

  // Previous goes back by the same cursors (the page may come from the query cache): page 2 again, then 1.
  await pager.getByRole('button', { name: 'Previous' }).click();
  await expect(pager).toContainText('Page 2 of');
  expect(new URL(page.url()).searchParams.get('cursor')).toBe(first[1]);
  await expect.poll(numbers).toEqual(second);
  await pager.getByRole('button', { name: 'Previous' }).click();
  await expect(pager).toContainText('Page 1 of');
  await expect.poll(numbers).toEqual(first);
  expect(page.url()).not.toContain('cursor=');
});

test('every page has no serious or critical accessibility violation', async ({ page }) => {
  const { users, meters, baseUrl } = stack();
  const check = async (name: string) => {
    const { violations } = await new AxeBuilder({ page }).analyze();
    const bad = violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(bad, `${name}: ${bad.join('\n')}`).toEqual([]);
    await shoot(page, name);
  };
  await page.goto(baseUrl);
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  await check('login');
  await logIn(page, users.admin);
  await expect(page.getByTestId('polling-status')).toBeVisible();
  await check('fleet-a11y');
  await page.goto(`${baseUrl}/meters`);
  await expect(page.getByTestId('meters-table').locator('tbody tr')).toHaveCount(meters.length);
  await check('meters');
  await page.goto(`${baseUrl}/meters/${meters[0]!.id}`);
  await expect(page.getByTestId('latest-readings')).toBeVisible();
  await expect(page.getByTestId('history-chart')).toBeVisible();
  await check('meter-a11y');
  await expect(page.getByTestId('profile-entries')).toBeVisible();
  await page.goto(`${baseUrl}/areas`);
  await expect(page.getByTestId('areas-table')).toContainText('CONSOLE');
  await check('areas');
  await page.goto(`${baseUrl}/reports/completeness`);
  await expect(page.getByTestId('completeness-kpi')).toBeVisible();
  await expect(page.getByTestId('clock-summary')).toBeVisible();
  await check('completeness-a11y');
  await page.goto(`${baseUrl}/users`);
  await expect(page.getByTestId('users-table')).toContainText(users.viewer.username);
  await check('users');
  await page.goto(`${baseUrl}/api-keys`);
  await expect(page.getByTestId('api-keys-table').locator('tbody tr')).not.toHaveCount(0);
  await check('api-keys-a11y');
  await page.goto(`${baseUrl}/audit`);
  await expect(page.getByTestId('audit-table').locator('tbody tr')).not.toHaveCount(0);
  await check('audit-a11y');
});
