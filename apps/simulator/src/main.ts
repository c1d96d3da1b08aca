/** `npm run simulator -- …`: starts a simulated meter fleet until SIGINT/SIGTERM. */
import { describeFleet, parseArgs, USAGE } from './cli';
import { startSimulator } from './simulator';

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
  const sim = await startSimulator(options);
  for (const line of describeFleet(sim.meters, sim.gatewayUrl, options.manifestPath)) console.log(line);
  console.log(
    `simulator ready: ${sim.meters.length} meters, gateway ${sim.gatewayUrl}, control ${sim.controlUrl}`,
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`simulator: ${signal}, stopping`);
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('simulator: stop failed', err);
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
