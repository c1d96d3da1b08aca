/**
 * `npm run openapi`: writes the api's OpenAPI document to docs/openapi.json (the console's types are
 * generated from it; test/openapi.e2e-spec.ts fails when it is stale). The app is created in preview
 * mode: modules and controllers are read, no provider is instantiated and nothing is connected, so no
 * database or Redis is needed. Configuration is still validated when AppModule loads: unset required
 * variables get placeholders, which only the document build ever sees.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const OPENAPI_FILE = path.resolve(__dirname, '..', '..', '..', 'docs', 'openapi.json');

const PLACEHOLDERS: Record<string, string> = {
  JWT_SECRET: 'openapi-export-placeholder-secret-0123456789',
  ADMIN_USERNAME: 'admin',
  ADMIN_PASSWORD: 'openapi-export-placeholder',
  DATABASE_URL: 'postgres://placeholder@127.0.0.1:1/placeholder',
  REDIS_URL: 'redis://127.0.0.1:1',
};

/** The document as committed: stable key order from Nest, two-space JSON, a final newline. */
export function serializeOpenApi(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  for (const [key, value] of Object.entries(PLACEHOLDERS)) process.env[key] ??= value;
  const [{ NestFactory }, { AppModule }, { createOpenApiDocument, setApiPrefix }] = await Promise.all([
    import('@nestjs/core'),
    import('./app.module'),
    import('./bootstrap'),
  ]);
  const app = await NestFactory.create(AppModule, { preview: true, logger: ['error'] });
  setApiPrefix(app);
  writeFileSync(OPENAPI_FILE, serializeOpenApi(createOpenApiDocument(app)));
  await app.close();
  console.log(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
