import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependencyChecks } from './dependency-checks';
import { HealthController } from './health.controller';

/** `/api/health/live`, `/api/health/ready` (and `/api/health`, same as ready); public. */
@Module({
  // Failed checks are answered (503 naming the part) and outages logged once by DependencyChecks;
  // terminus's own log line per failed probe would repeat that every few seconds.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [DependencyChecks],
})
export class HealthModule {}
