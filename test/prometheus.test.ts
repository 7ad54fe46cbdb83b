import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { provisionFreshBackends, testMode, type FreshBackends } from './helpers/mode.js';
import { freePort, roleDeployment, startProcess, startRole, stopRole, terminate, waitForStatus, type RunningProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

/*
 * A real Prometheus (Debian's `prometheus` package, which CI installs) scraping the app with
 * METRICS_TOKEN, evaluating the rules of deploy/prometheus/ as they are shipped, except that every
 * `for:` is cut to a second: the expressions and thresholds are the ones an operator deploys.
 * Services mode: the api and a worker as separate processes, each scraped on its own port.
 * Embedded mode: one process of role `all` (the api and the worker in one), scraped as the api.
 */

const METRICS_TOKEN = 'a-metrics-token-for-prometheus';
const RULES_DIR = join(import.meta.dirname, '..', 'deploy', 'prometheus');

interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

function requirePrometheus(): void {
  const probe = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "This test runs a real Prometheus and the `prometheus` binary was not found: install Debian's package (apt-get install -y prometheus); .ci/run does.",
    );
  }
}

/** The shipped rules with their pending periods cut to a second (and a check that there were some to cut). */
function rulesWithShortPendingPeriods(dir: string): string[] {
  writeFileSync(join(dir, 'recording-rules.yml'), readFileSync(join(RULES_DIR, 'recording-rules.yml'), 'utf8'));
  const alerting = readFileSync(join(RULES_DIR, 'alerting-rules.yml'), 'utf8');
  const shortened = alerting.replace(/^(\s+for:) \d+[smh]$/gm, '$1 1s');
  expect(shortened, 'alerting-rules.yml has `for:` periods to shorten').not.toBe(alerting);
  writeFileSync(join(dir, 'alerting-rules.yml'), shortened);
  return ['recording-rules.yml', 'alerting-rules.yml'];
}

async function startPrometheus(targets: { api: string; worker?: string }): Promise<{ url: string; process: RunningProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gc-prometheus-'));
  writeFileSync(join(dir, 'metrics-token'), METRICS_TOKEN, { mode: 0o600 });
  const job = (name: string, target: string) => `
  - job_name: ${name}
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: ${join(dir, 'metrics-token')}
    static_configs:
      - targets: ['${target}']`;
  const config = `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ${JSON.stringify(rulesWithShortPendingPeriods(dir))}
scrape_configs:${job('gemini-chat-api', targets.api)}${targets.worker ? job('gemini-chat-worker', targets.worker) : ''}
`;
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const process = startProcess(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    {},
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForStatus(`${url}/-/ready`, 200, process, 30_000);
  return { url, process, dir };
}

/** Sign up and in over HTTP, and open a chatroom: what a client of the deployed api does. */
async function newChatroom(base: string): Promise<{ token: string; room: string }> {
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const mobile = makeMobile();
  await post('/auth/signup', { mobile });
  const { otp } = (await post('/auth/send-otp', { mobile })) as { otp: string };
  const { accessToken } = (await post('/auth/verify-otp', { mobile, otp })) as { accessToken: string };
  const { id } = (await post('/chatroom', {}, accessToken)) as { id: string };
  return { token: accessToken, room: id };
}

describe(`a real Prometheus on the shipped rules (${testMode})`, () => {
  let gemini: FakeGemini;
  let backends: FreshBackends | undefined;
  let app: TestApp | undefined;
  const roles: RunningProcess[] = [];
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  let base: string;

  beforeAll(async () => {
    requirePrometheus();
    gemini = await startFakeGemini();
    // The model fails every call, as during a Gemini outage.
    gemini.setDefault({ kind: 'error', status: 503, message: 'The model is overloaded' });
    if (testMode === 'services') {
      backends = await provisionFreshBackends();
      const workerPort = await freePort();
      const deployment = await roleDeployment('prometheus', backends.env, gemini.url, {
        METRICS_TOKEN,
        WORKER_PORT: String(workerPort),
        GENERATION_MAX_ATTEMPTS: '2',
        GENERATION_RETRY_BASE_MS: '10',
      });
      base = deployment.base;
      const api = startRole('api', deployment.env);
      const worker = startRole('worker', deployment.env);
      roles.push(api, worker);
      await waitForStatus(`${base}/readyz`, 200, api, 45_000);
      await waitForStatus(`http://127.0.0.1:${workerPort}/readyz`, 200, worker, 45_000);
      prometheus = await startPrometheus({ api: `127.0.0.1:${deployment.port}`, worker: `127.0.0.1:${workerPort}` });
    } else {
      app = await startTestApp({ env: { METRICS_TOKEN, GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url } });
      base = await app.app.listen({ port: 0, host: '127.0.0.1' });
      prometheus = await startPrometheus({ api: new URL(base).host });
    }
  }, 90_000);

  afterAll(async () => {
    if (prometheus) {
      await terminate(prometheus.process.child);
      rmSync(prometheus.dir, { recursive: true, force: true });
    }
    const codes = await Promise.all(roles.map((role) => stopRole(role)));
    await app?.close();
    await gemini?.close();
    await backends?.dispose();
    expect(codes, roles.map((role) => role.output()).join('\n----\n')).toEqual(roles.map(() => 0));
  }, 60_000);

  const query = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${prometheus?.url}${path}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: T }).data;
  };

  it('scrapes every role with the token', async () => {
    const healthOf = async () =>
      (await query<{ activeTargets: { labels: { job: string }; health: string; lastError: string }[] }>('/api/v1/targets')).activeTargets.map(
        ({ labels, health, lastError }) => ({ job: labels.job, health, lastError }),
      );
    const expected = testMode === 'services' ? ['gemini-chat-api', 'gemini-chat-worker'] : ['gemini-chat-api'];
    const targets = await waitFor(
      async () => {
        const seen = await healthOf();
        return seen.length === expected.length && seen.every((target) => target.health !== 'unknown') ? seen : undefined;
      },
      'Prometheus scraped every target once',
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(targets.sort((a, b) => a.job.localeCompare(b.job))).toEqual(expected.map((job) => ({ job, health: 'up', lastError: '' })));
  });

  it('fires GeminiChatModelCallsFailing while the model fails every call', async () => {
    const { token, room } = await newChatroom(base);
    const firing = await waitFor(
      async () => {
        // A prompt at each look: a counter's rate needs it to go on rising between scrapes.
        const sent = await fetch(`${base}/chatroom/${room}/message`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ content: 'Is anyone there?' }),
        });
        expect(sent.status).toBe(502); // the reply failed: MODEL_UNAVAILABLE, the prompt given back
        const { alerts } = await query<{ alerts: PrometheusAlert[] }>('/api/v1/alerts');
        return alerts.find((alert) => alert.labels.alertname === 'GeminiChatModelCallsFailing' && alert.state === 'firing');
      },
      'GeminiChatModelCallsFailing is firing',
      { timeoutMs: 45_000, intervalMs: 500, detail: () => JSON.stringify(gemini.requests.length) + ' model calls so far' },
    );
    expect(firing.labels).toMatchObject({ severity: 'page' });
    expect(firing.annotations).toMatchObject({ summary: 'More than a quarter of model calls fail', runbook: 'README.md#geminichatmodelcallsfailing' });
    expect(firing.annotations.description).toMatch(/^100% of Gemini calls failed/);

    const { result } = await query<{ result: { metric: { outcome: string } }[] }>(
      `/api/v1/query?query=${encodeURIComponent('gemini_chat:model_calls:rate5m > 0')}`,
    );
    expect(result.map((series) => series.metric.outcome)).toEqual(['MODEL_UNAVAILABLE']);
  }, 60_000);
});
