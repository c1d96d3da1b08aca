/** `npm run simulator -- …`: starts a simulated meter fleet until SIGINT/SIGTERM. */
import { readFileSync } from 'node:fs';
import { describeFleet, parsePushSecrets, parseArgs, USAGE } from './cli';
import { startSimulator } from './simulator';

const STOP_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`simulator: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  if (options.push && options.pushSecretsPath) {
    options.push.secrets = parsePushSecrets(JSON.parse(readFileSync(options.pushSecretsPath, 'utf8')));
  }
  const sim = await startSimulator(options);
  for (const line of describeFleet(sim.meters, sim.gatewayUrl, options.manifestPath)) console.log(line);
  console.log(
    `simulator ready: ${sim.meters.length} meters, gateway ${sim.gatewayUrl}, control ${sim.controlUrl}`,
  );
  if (options.push) {
    const secrets = Object.keys(options.push.secrets ?? {}).length;
    console.log(
      `pushing to ${options.push.url} every ${options.push.intervalMs / 1000} s (${secrets} meter secret(s) loaded)`,
    );
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.log(`simulator: ${signal} again, already stopping`);
      return;
    }
    stopping = true;
    console.log(`simulator: ${signal}, stopping`);
    // Open keep-alive connections could hold the listeners' close forever.
    const overdue = setTimeout(() => {
      console.error(`simulator: not stopped within ${STOP_GRACE_MS} ms, exiting anyway`);
      process.exit(1);
    }, STOP_GRACE_MS);
    overdue.unref();
    sim.stop().then(
      () => {
        console.log('simulator: stopped');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`simulator: stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`simulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
