#!/usr/bin/env node
'use strict';
/** npm run openapi:types — regenerates apps/console/src/api/schema.d.ts from docs/openapi.json. */
const path = require('node:path');
const { CONSOLE_SCHEMA, OPENAPI_DOCUMENT, generateConsoleTypes } = require('./lib/openapi-types');

generateConsoleTypes();
console.log(
  `${path.relative(process.cwd(), CONSOLE_SCHEMA)} generated from ${path.relative(process.cwd(), OPENAPI_DOCUMENT)}`,
);
