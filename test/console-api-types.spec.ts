/**
 * The console's API types (apps/console/src/api/schema.d.ts) are generated from docs/openapi.json by
 * `npm run openapi:types`; a change of the document without regenerating them fails here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CONSOLE_SCHEMA, generateConsoleTypes } = require('../scripts/lib/openapi-types') as {
  CONSOLE_SCHEMA: string;
  generateConsoleTypes(outFile: string): void;
};

describe('console API types', () => {
  it('are what openapi-typescript generates from docs/openapi.json (run `npm run openapi:types`)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-types-'));
    try {
      const fresh = join(dir, 'schema.d.ts');
      generateConsoleTypes(fresh);
      const committed = readFileSync(CONSOLE_SCHEMA, 'utf8');
      expect(committed.length).toBeGreaterThan(0);
      expect(committed === readFileSync(fresh, 'utf8')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describe the routes the console calls', () => {
    const committed = readFileSync(CONSOLE_SCHEMA, 'utf8');
    for (const route of [
      '/api/auth/login',
      '/api/meters',
      '/api/meters/{id}/read-obis',
      '/api/meters/polling/status',
    ]) {
      expect(committed).toContain(`"${route}"`);
    }
  });
});
