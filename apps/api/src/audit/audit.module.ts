import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';
import { AuditSnapshots } from './audit-snapshots';
import { AuditRepository } from './audit.repository';

/** The audit trail: an entry per state-changing request (global interceptor), and GET /api/audit. */
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditSnapshots, { provide: APP_INTERCEPTOR, useClass: AuditInterceptor }],
})
export class AuditModule {}
