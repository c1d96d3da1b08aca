/**
 * Preloaded into the api by bench/api.bench.ts (`node -r bench/sql-capture.js …`): records the SQL the api
 * sends, so the bench can EXPLAIN (ANALYZE, BUFFERS) exactly the statements each route runs. Off by default
 * (no cost under load); SIGUSR2 toggles it. While on, every query's text and parameters are appended to
 * the file named by BENCH_SQL_CAPTURE, one JSON line each. Benchmark-only: no app imports this.
 */
'use strict';
const fs = require('node:fs');
const { Client } = require('pg');

const file = process.env.BENCH_SQL_CAPTURE;
if (file) {
  let capturing = false;
  process.on('SIGUSR2', () => {
    capturing = !capturing;
    process.stderr.write(`sql-capture ${capturing ? 'on' : 'off'}\n`);
  });
  const query = Client.prototype.query;
  Client.prototype.query = function capturedQuery(config, values, callback) {
    if (capturing) {
      const text = typeof config === 'string' ? config : config && config.text;
      const params = Array.isArray(values) ? values : config && config.values;
      if (typeof text === 'string')
        fs.appendFileSync(file, JSON.stringify({ text, values: params ?? [] }) + '\n');
    }
    return query.call(this, config, values, callback);
  };
}
