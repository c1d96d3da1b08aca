/**
 * What can rot in the deployment files, checked against the code: docker-compose.yml and every manifest in
 * deploy/k8s parsed with `yaml` (commands that exist, ports and probe paths the services serve, variable
 * names of the config schema, the KEDA trigger on the real BullMQ key), and the Prometheus files through
 * promtool (config, rules, the rules' unit tests).
 */
import { ApiEnv, WorkerEnv } from '@app/config';
import { QUEUES } from '@app/contracts';
import { createTestApi, promtool, type TestApi } from '@app/testing';
import { QueueKeys } from 'bullmq';
import { getMetadataStorage } from 'class-validator';
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { parse, parseAllDocuments } from 'yaml';
import { WORKER_HTTP_PATHS } from '../apps/worker/src/health/worker-http.server';

const ROOT = path.join(__dirname, '..');
const DEPLOY = path.join(ROOT, 'deploy');

/** Every variable name the config schema of `schema` validates. */
function schemaVariables(schema: new () => object): Set<string> {
  return new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(schema, '', true, false)
      .map((m) => m.propertyName),
  );
}
const API_VARIABLES = schemaVariables(ApiEnv);
const WORKER_VARIABLES = schemaVariables(WorkerEnv);
const ANY_VARIABLE = new Set([...API_VARIABLES, ...WORKER_VARIABLES]);

/** `node [--flags] <script>` of an image built from this repository: the script's source must exist. */
function expectRunnableCommand(command: string[], where: string): void {
  expect({ where, node: command[0] }).toEqual({ where, node: 'node' });
  const script = command.slice(1).find((arg) => !arg.startsWith('--')) ?? '';
  const source = script.startsWith('dist/') ? script.replace(/^dist\//, '').replace(/\.js$/, '.ts') : script;
  expect({ where, exists: fs.existsSync(path.join(ROOT, source)) }).toEqual({ where, exists: true });
}

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function manifests(dir: string): K8sObject[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as K8sObject),
    );
}

describe('deployment files match the code', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await createTestApi();
  });

  afterAll(async () => {
    await api?.close();
  });

  /** The api answers 200 on `probePath` (health paths are public). */
  async function expectApiServes(probePath: string): Promise<void> {
    const res = await request(api.server).get(probePath);
    expect({ probePath, status: res.status }).toEqual({ probePath, status: 200 });
  }

  it('promtool accepts the Prometheus config and alert rules, and the rules pass their unit tests', () => {
    const dir = path.join(DEPLOY, 'prometheus');
    expect(promtool(['check', 'config', path.join(dir, 'prometheus.yml')])).toMatchObject({ code: 0 });
    expect(promtool(['check', 'rules', path.join(dir, 'alerts.yml')])).toMatchObject({ code: 0 });
    const tested = promtool(['test', 'rules', path.join(dir, 'alerts.test.yml')]);
    expect(tested).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
    const alerts = parse(fs.readFileSync(path.join(dir, 'alerts.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string }> }>;
    };
    const tests = fs.readFileSync(path.join(dir, 'alerts.test.yml'), 'utf8');
    // Every alert has a unit test that expects it to fire.
    for (const rule of alerts.groups.flatMap((g) => g.rules))
      expect(tests).toContain(`alertname: ${rule.alert}`);
  });

  it('docker-compose.yml: the services, commands, ports, probes and variables exist', async () => {
    const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(
      ['api', 'grafana', 'migrate', 'postgres', 'prometheus', 'redis', 'simulator', 'worker'].sort(),
    );
    expect(s.redis.command).toEqual(
      expect.arrayContaining(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']),
    );
    expect(s.worker.deploy.replicas).toBe(2);
    expect(s.prometheus.profiles).toEqual(['observability']);
    expect(s.grafana.profiles).toEqual(['observability']);
    for (const name of ['postgres', 'redis', 'api', 'worker', 'simulator', 'prometheus', 'grafana'])
      expect({ name, restart: s[name].restart }).toEqual({ name, restart: 'unless-stopped' });
    for (const name of ['api', 'worker', 'migrate', 'simulator'])
      expectRunnableCommand(s[name].command, name);
    // Variables of our processes: names of the schema only.
    for (const [name, known] of [
      ['api', API_VARIABLES],
      ['worker', WORKER_VARIABLES],
      ['migrate', ANY_VARIABLE],
    ] as const) {
      const unknown = Object.keys(s[name].environment).filter((v) => !known.has(v));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
    // Health checks on the ports the services listen on, on paths they serve.
    const probe = (svc: string) => {
      const cmd = (s[svc].healthcheck.test as string[]).join(' ');
      const url = new URL(/fetch\('([^']+)'/.exec(cmd)![1]);
      return { port: Number(url.port), path: url.pathname };
    };
    expect(probe('api').port).toBe(Number(s.api.environment.PORT));
    expect(s.api.ports).toContain(`${s.api.environment.PORT}:${s.api.environment.PORT}`);
    await expectApiServes(probe('api').path);
    expect(probe('worker')).toEqual({
      port: Number(s.worker.environment.WORKER_HTTP_PORT),
      path: WORKER_HTTP_PATHS.ready,
    });
    // Mounted configuration files exist.
    for (const svc of ['prometheus', 'grafana'])
      for (const volume of s[svc].volumes as string[])
        expect({ volume, exists: fs.existsSync(path.join(ROOT, volume.split(':')[0])) }).toEqual({
          volume,
          exists: true,
        });
  });

  it('deploy/k8s: resources, commands, ports, probes, variables, PDB and the KEDA trigger on the real BullMQ key', async () => {
    const baseDir = path.join(DEPLOY, 'k8s', 'base');
    const kustomization = parse(fs.readFileSync(path.join(baseDir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    for (const file of kustomization.resources) expect(fs.existsSync(path.join(baseDir, file))).toBe(true);
    const overlayDir = path.join(DEPLOY, 'k8s', 'overlays', 'example');
    const overlay = parse(fs.readFileSync(path.join(overlayDir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      patches: Array<{ path: string }>;
    };
    expect(overlay.resources).toEqual(['../../base']);
    for (const patch of overlay.patches) expect(fs.existsSync(path.join(overlayDir, patch.path))).toBe(true);

    const objects = [...manifests(baseDir), ...manifests(overlayDir)];
    const byKind = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name)!;
    const config = byKind('ConfigMap', 'hes-config');
    const secret = byKind('Secret', 'hes-secrets');
    // Every variable set anywhere is a name of the config schema.
    const unknown = objects
      .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret')
      .flatMap((o) => Object.keys(o.data ?? o.stringData ?? {}))
      .filter((v) => !ANY_VARIABLE.has(v));
    expect(unknown).toEqual([]);
    expect(Object.keys(secret.stringData!)).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']),
    );

    const container = (name: string) => byKind('Deployment', name).spec.template.spec.containers[0];
    const apiC = container('hes-api');
    const workerC = container('hes-worker');
    expectRunnableCommand(apiC.command, 'hes-api');
    expectRunnableCommand(workerC.command, 'hes-worker');
    expectRunnableCommand(
      byKind('Job', 'hes-migrate').spec.template.spec.containers[0].command,
      'hes-migrate',
    );
    expect(apiC.ports[0].containerPort).toBe(Number(config.data!.PORT));
    expect(workerC.ports[0].containerPort).toBe(Number(config.data!.WORKER_HTTP_PORT));
    for (const c of [apiC, workerC, byKind('Job', 'hes-migrate').spec.template.spec.containers[0]]) {
      expect(c.envFrom).toEqual([
        { configMapRef: { name: 'hes-config' } },
        { secretRef: { name: 'hes-secrets' } },
      ]);
    }
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      await expectApiServes(apiC[probe].httpGet.path);
      expect(Object.values(WORKER_HTTP_PATHS)).toContain(workerC[probe].httpGet.path);
    }
    expect(workerC.readinessProbe.httpGet.path).toBe(WORKER_HTTP_PATHS.ready);
    expect(workerC.livenessProbe.httpGet.path).toBe(WORKER_HTTP_PATHS.live);
    // Graceful shutdown fits in the pod's grace period.
    expect(
      byKind('Deployment', 'hes-worker').spec.template.spec.terminationGracePeriodSeconds * 1000,
    ).toBeGreaterThan(Number(config.data!.SHUTDOWN_GRACE_MS));

    const workerLabels = byKind('Deployment', 'hes-worker').spec.template.metadata.labels;
    expect(byKind('PodDisruptionBudget', 'hes-worker').spec.selector.matchLabels).toEqual(workerLabels);
    expect(byKind('Service', 'hes-api').spec.selector).toEqual(
      byKind('Deployment', 'hes-api').spec.template.metadata.labels,
    );

    const scaled = byKind('ScaledObject', 'hes-worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('hes-worker');
    const trigger = scaled.spec.triggers[0];
    expect(trigger.type).toBe('redis');
    // The list BullMQ keeps the poll queue's waiting jobs in, under the configured prefix.
    expect(trigger.metadata.listName).toBe(
      new QueueKeys(config.data!.QUEUE_PREFIX).getKeys(QUEUES.POLL).wait,
    );
  });
});
