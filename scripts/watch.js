#!/usr/bin/env node
'use strict';
/**
 * npm run watch -- [meterNumber|meterId] — logs in with the demo's admin credentials (or USERNAME/PASSWORD)
 * and prints the live Socket.IO events of one meter, or of the whole fleet when none is given. It reconnects
 * by itself and, after a disconnection shorter than REALTIME_RECOVERY_WINDOW_MS, gets what it missed.
 */
const fs = require('node:fs');
const path = require('node:path');
const { io } = require('socket.io-client');

const base = process.env.HES_URL || `http://localhost:${process.env.PORT || 5000}`;
const credsFile = path.join(__dirname, '..', '.data', 'demo-credentials.json');
const creds = fs.existsSync(credsFile) ? JSON.parse(fs.readFileSync(credsFile, 'utf8')) : {};
const username = process.env.USERNAME_HES || creds.username || 'admin';
const password = process.env.PASSWORD_HES || creds.password;

(async () => {
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  }).then((r) => r.json());
  if (!login.success) throw new Error(`login failed: ${login.message}`);
  const token = login.data.token;
  const which = process.argv[2];
  let room = 'meters';
  if (which) {
    const meter = await fetch(`${base}/api/meters/${encodeURIComponent(which)}`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((r) => r.json());
    if (!meter.success) throw new Error(`meter ${which}: ${meter.message}`);
    room = `meter-${meter.data.id}`;
  }
  const socket = io(base, { auth: { token }, transports: ['websocket'] });
  socket.on('connect_error', (err) => console.error(`connect error: ${err.message}`));
  socket.on('connect', () => {
    // After a short disconnection the server restores the rooms and sends what was missed first.
    if (socket.recovered) return console.log('reconnected: missed events follow');
    socket.emit('join-room', { room }, (ack) => console.log(`joined ${room}: ${JSON.stringify(ack)}`));
  });
  socket.on('disconnect', (reason) =>
    console.log(`disconnected (${reason})${socket.active ? '; reconnecting…' : ''}`),
  );
  socket.on('meter-reading-update', (e) =>
    console.log(
      `${e.timestamp} reading ${e.meterNumber} ${e.communicationStatus} ${e.responseTime} ms: ` +
        e.readings
          .filter((r) => r.value !== null)
          .map((r) => `${r.name ?? r.obisCode}=${r.value}${r.unit ? ' ' + r.unit : ''}`)
          .join(', '),
    ),
  );
  socket.on('meter-status-change', (e) =>
    console.log(`${e.timestamp} status ${e.meterNumber}: ${e.previousStatus} → ${e.status} (${e.reason})`),
  );
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
