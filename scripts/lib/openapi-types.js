'use strict';
/**
 * The console's API types: openapi-typescript run on the committed OpenAPI document (docs/openapi.json)
 * writes apps/console/src/api/schema.d.ts. Shared by `npm run openapi:types` and the test that fails when
 * the committed file is stale.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const OPENAPI_DOCUMENT = path.join(ROOT, 'docs', 'openapi.json');
const CONSOLE_SCHEMA = path.join(ROOT, 'apps', 'console', 'src', 'api', 'schema.d.ts');

/** Writes the types generated from docs/openapi.json to `outFile`. */
function generateConsoleTypes(outFile = CONSOLE_SCHEMA) {
  const cli = path.join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
  execFileSync(process.execPath, [cli, OPENAPI_DOCUMENT, '--output', outFile], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

module.exports = { OPENAPI_DOCUMENT, CONSOLE_SCHEMA, generateConsoleTypes };
