import { ApiEnv } from '@app/config';
import { RequestMethod } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { mountBullBoard } from './admin/bull-board';
import { OPENAPI_PUBLIC_EXTENSION } from './auth/decorators';
import {
  AllExceptionsFilter,
  corsSettings,
  createValidationPipe,
  dependencyPorts,
  useBodyParsers,
} from './common';
import { HttpMetrics } from './metrics/http-metrics';
import { serveConsole } from './console/serve-console';
import { pushPortGate } from './push/push-port';
import { RealtimeIoAdapter } from './realtime/realtime-io.adapter';

export const SWAGGER_PATH = 'api/docs';

/**
 * Everything that makes the api answer the same way in production (main.ts) and in tests (createTestApi):
 * `api` prefix, 1 MB JSON/urlencoded bodies (413 beyond), validation (400 listing the problems), the error
 * envelope, TRUST_PROXY, CORS from CORS_ORIGINS (`*` never with credentials), Swagger at /api/docs (JSON at /api/docs-json), Bull Board at
 * /admin/queues (admins only), the operator console at / (CONSOLE_DIR). Signals are main.ts's business (graceful shutdown), not the tests'.
 * Create the app with `{ bodyParser: false }` so that only these parsers run.
 */
export function configureApp(app: NestExpressApplication): void {
  const env = app.get(ApiEnv);
  // First: each of the api's two listeners (operators, meters' PUSH_PORT) answers only its own routes.
  app.use(pushPortGate);
  // Before anything reads req.ip or req.secure (login limits, the board cookie's Secure flag).
  app.set('trust proxy', env.trustProxy);
  setApiPrefix(app);
  app.use(app.get(HttpMetrics).middleware());
  useBodyParsers(app);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter(dependencyPorts(env.DATABASE_URL, env.REDIS_URL)));
  const cors = corsSettings(env.CORS_ORIGINS);
  if (cors) app.enableCors(cors);
  app.useWebSocketAdapter(new RealtimeIoAdapter(app));
  mountBullBoard(app);
  serveConsole(app, env.CONSOLE_DIR);

  if (env.SWAGGER_ENABLED) {
    SwaggerModule.setup(SWAGGER_PATH, app, createOpenApiDocument(app), {
      jsonDocumentUrl: `${SWAGGER_PATH}-json`,
    });
  }
}

/**
 * The `api` prefix of every route but /metrics (where Prometheus looks by default) and the meters' push
 * routes; shared with `npm run openapi` so that the committed document has the served paths.
 */
export function setApiPrefix(app: INestApplication): void {
  app.setGlobalPrefix('api', {
    exclude: [
      'metrics',
      { path: 'push/readings', method: RequestMethod.POST },
      { path: 'push/alarms', method: RequestMethod.POST },
    ],
  });
}

/**
 * The OpenAPI document of every route. It reads only the controllers' metadata, so it can be made from
 * an app created in preview mode (no provider instantiated, nothing connected): `npm run openapi`.
 */
/** The OpenAPI security scheme of `X-API-Key: <key>`. */
const API_KEY_SCHEME = 'api-key';

export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Smart HES API')
      .setDescription(
        'Head-end system for electricity smart meters. Authenticate with POST /api/auth/login and send ' +
          '`Authorization: Bearer <token>`; an integration sends its API key as `Authorization: Bearer <key>` ' +
          'or `X-API-Key: <key>`. Errors: `{ success: false, message, error }`.',
      )
      .setVersion('1.0')
      .setLicense('MIT', 'https://opensource.org/license/mit')
      .addServer('/', 'This api (paths carry the /api prefix)')
      .addBearerAuth()
      .addApiKey(
        { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (POST /api/api-keys)' },
        API_KEY_SCHEME,
      )
      .build(),
  );
  // Nest drops an empty security list, yet `security: []` is how OpenAPI says "no credentials needed".
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Record<string, unknown>[]) {
      if (operation?.[OPENAPI_PUBLIC_EXTENSION]) {
        delete operation[OPENAPI_PUBLIC_EXTENSION];
        operation.security = [];
      } else if (Array.isArray(operation?.security) && operation.security.length > 0) {
        // Every route a bearer credential opens also takes an API key in X-API-Key (credentials.ts).
        operation.security = [...(operation.security as object[]), { [API_KEY_SCHEME]: [] }];
      }
    }
  }
  return document;
}
