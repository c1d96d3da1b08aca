import { ApiEnv } from '@app/config';
import { RequestMethod } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { mountBullBoard } from './admin/bull-board';
import { AllExceptionsFilter, createValidationPipe, dependencyPorts, useBodyParsers } from './common';
import { pushPortGate } from './push/push-port';
import { RealtimeIoAdapter } from './realtime/realtime-io.adapter';

export const SWAGGER_PATH = 'api/docs';

function corsOrigins(value: string | undefined): string[] | boolean | undefined {
  if (!value?.trim()) return undefined;
  const origins = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return origins.includes('*') ? true : origins;
}

/**
 * Everything that makes the api answer the same way in production (main.ts) and in tests (createTestApi):
 * `api` prefix, 1 MB JSON/urlencoded bodies (413 beyond), validation (400 listing the problems), the error
 * envelope, CORS from CORS_ORIGINS, Swagger at /api/docs (JSON at /api/docs-json), Bull Board at
 * /admin/queues (admins only). Signals are main.ts's business (graceful shutdown), not the tests'.
 * Create the app with `{ bodyParser: false }` so that only these parsers run.
 */
export function configureApp(app: NestExpressApplication): void {
  const env = app.get(ApiEnv);
  // First: each of the api's two listeners (operators, meters' PUSH_PORT) answers only its own routes.
  app.use(pushPortGate);
  app.setGlobalPrefix('api', {
    exclude: [
      { path: 'push/readings', method: RequestMethod.POST },
      { path: 'push/alarms', method: RequestMethod.POST },
    ],
  });
  useBodyParsers(app);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter(dependencyPorts(env.DATABASE_URL, env.REDIS_URL)));
  const origin = corsOrigins(env.CORS_ORIGINS);
  if (origin) app.enableCors({ origin, credentials: true });
  app.useWebSocketAdapter(new RealtimeIoAdapter(app));
  mountBullBoard(app);

  if (env.SWAGGER_ENABLED) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Smart HES API')
        .setDescription(
          'Head-end system for electricity smart meters. Authenticate with POST /api/auth/login and send ' +
            '`Authorization: Bearer <token>`. Errors: `{ success: false, message, error }`.',
        )
        .setVersion('1.0')
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup(SWAGGER_PATH, app, document, { jsonDocumentUrl: `${SWAGGER_PATH}-json` });
  }
}
