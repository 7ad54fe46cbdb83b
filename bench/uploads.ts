/**
 * Scenario 7, uploads (`BENCH_ONLY=uploads`; bench/README.md). Every part in a process of its own:
 * the server under test (bench/run.ts's deployments), a bare node:http server writing request bodies
 * to disk (bench/bare-upload-server.ts), a local S3 server per deployment that needs one
 * (bench/s3-server.ts), the fake model stamping its first chunk, and the load generator
 * (bench/upload-load.ts inside bench/load.ts).
 *   a) one upload at a time to the `fs` store, against the bare server in the same rounds: MiB/s and the ratio;
 *   b) the same to the `s3` store (s3rver);
 *   c) `concurrent` uploads at once: the api process's RSS, peak over idle;
 *   d) a prompt with an image: the time to the model, minus the same prompt without it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { noisePng } from './bench-files.js';
import type { BenchRow } from './bench-row.js';
import type { PromptLatencyResult, PromptLatencyTask, UploadsResult, UploadsTask } from './upload-load.js';

export interface UploadSizes {
  /** The file of a, b and c (UTF-8 text). */
  uploadBytes: number;
  /** Uploads at once in c. */
  concurrent: number;
  /** The PNG of d. */
  imageBytes: number;
  /** Counted rounds of a, b and d (each after an uncounted warm-up), and of c. */
  rounds: number;
  concurrentRounds: number;
}

interface UploadDeployment {
  base: string;
  apiPid: number | undefined;
  stop(): Promise<void>;
}

interface BenchClient {
  call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  signIn(): Promise<string>;
  room(token: string): Promise<string>;
}

/** What bench/run.ts lends the scenario: its deployments, its processes and its readings. */
export interface UploadsBench<V extends { label: string }> {
  variants: V[];
  sizes: UploadSizes;
  deploy(variant: V, modelUrl: string, extraEnv: Record<string, string>): Promise<UploadDeployment>;
  load<T>(task: UploadsTask | PromptLatencyTask): Promise<T>;
  startReporting(script: string, extraEnv?: Record<string, string>): Promise<Record<string, string>>;
  rssMb(pid: number | undefined): number;
  client(base: string): BenchClient;
}

/** What the targets read, by variant label. */
export interface UploadFigures {
  fsRatioToBare: number;
  rssGrowthMb: number;
}

const MiB = 1024 * 1024;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const mib = (bytes: number) => `${+(bytes / MiB).toFixed(2)} MiB`;
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const signed = (value: number, digits = 1) => (value < 0 ? `−${fixed(-value, digits)}` : `+${fixed(value, digits)}`);

/** A MiB/s figure for each round of a target, one upload per round. */
const throughputs = (result: UploadsResult, target: string, bytes: number) =>
  (result.rounds[target] ?? []).flatMap((round) => round.uploadsMs.map((ms) => bytes / MiB / (ms / 1000)));

export async function uploadsScenario<V extends { label: string }>(bench: UploadsBench<V>): Promise<{ rows: BenchRow[]; figures: Map<string, UploadFigures> }> {
  const { sizes } = bench;
  const rows: BenchRow[] = [];
  const figures = new Map<string, UploadFigures>();
  const model = await bench.startReporting('bench/fake-model.ts', { BENCH_MODEL_STAMP: '1' });
  const bare = await bench.startReporting('bench/bare-upload-server.ts');
  // Titles are model calls of their own: not what d measures. The quota must not refuse the bench's
  // files (each is deleted after its round anyway), nor the limit a larger BENCH_UPLOAD_MIB.
  const serverEnv = { AUTO_TITLE: 'false', STORAGE_QUOTA_BASIC_BYTES: String(2 ** 40), MAX_UPLOAD_BYTES: String(Math.max(20 * MiB, sizes.uploadBytes)) };

  for (const variant of bench.variants) {
    const s3 = await bench.startReporting('bench/s3-server.ts');
    const onFs = await bench.deploy(variant, model.url ?? '', serverEnv);
    const onS3 = await bench.deploy(variant, model.url ?? '', {
      ...serverEnv,
      FILE_STORE: 's3',
      S3_BUCKET: s3.bucket ?? '',
      S3_ENDPOINT: s3.url ?? '',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: s3.accessKeyId ?? '',
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey ?? '',
    });
    const fsApi = bench.client(onFs.base);
    const fsToken = await fsApi.signIn();
    const s3Token = await bench.client(onS3.base).signIn();

    // a and b: the three targets take turns, one upload each per round.
    const single = await bench.load<UploadsResult>({
      kind: 'uploads',
      targets: [
        { name: 'bare', url: bare.url ?? '' },
        { name: 'fs', url: `${onFs.base}/files`, token: fsToken },
        { name: 's3', url: `${onS3.base}/files`, token: s3Token },
      ],
      file: { kind: 'text', bytes: sizes.uploadBytes },
      concurrent: 1,
      rounds: sizes.rounds,
      warmup: true,
    });
    if (single.firstFailure) console.log(`uploads, ${variant.label}: ${single.errors} failed, the first: ${single.firstFailure}`);
    const bareMiBs = median(throughputs(single, 'bare', sizes.uploadBytes));
    const fsMiBs = median(throughputs(single, 'fs', sizes.uploadBytes));
    const s3MiBs = median(throughputs(single, 's3', sizes.uploadBytes));
    const msOf = (target: string) => median((single.rounds[target] ?? []).flatMap((round) => round.uploadsMs));
    rows.push(
      {
        label: variant.label,
        scenario: `upload of ${mib(sizes.uploadBytes)} of text to the fs store, one at a time`,
        rps: NaN,
        p50: msOf('fs'),
        p99: NaN,
        errors: single.errors,
        note: `${fixed(fsMiBs)} MiB/s; bare node:http to disk ${fixed(bareMiBs)} MiB/s (${fixed(msOf('bare'))} ms) in the same rounds: **${fixed(fsMiBs / bareMiBs, 2)}×**`,
        figures: { 'fs upload, MiB/s': fsMiBs, 'bare upload, MiB/s': bareMiBs, 'fs ÷ bare': fsMiBs / bareMiBs },
      },
      {
        label: variant.label,
        scenario: `upload of ${mib(sizes.uploadBytes)} of text to the s3 store (s3rver), one at a time`,
        rps: NaN,
        p50: msOf('s3'),
        p99: NaN,
        errors: 0, // counted with the fs row: one load task
        note: `${fixed(s3MiBs)} MiB/s, ${fixed(s3MiBs / bareMiBs, 2)}× bare`,
        figures: { 's3 upload, MiB/s': s3MiBs },
      },
    );
    await onS3.stop();
    process.kill(Number(s3.pid), 'SIGTERM');

    rows.push(await imagePrompt(bench, variant.label, onFs, fsToken));
    await onFs.stop();

    const memory = await concurrentUploads(bench, variant, model.url ?? '', serverEnv);
    rows.push(memory.row);
    figures.set(variant.label, { fsRatioToBare: fsMiBs / bareMiBs, rssGrowthMb: memory.growthMb });
  }
  process.kill(Number(model.pid), 'SIGTERM');
  process.kill(Number(bare.pid), 'SIGTERM');
  return { rows, figures };
}

/** c: a fresh deployment, warmed by one small upload and settled, then `concurrent` uploads at once per round. */
async function concurrentUploads<V extends { label: string }>(bench: UploadsBench<V>, variant: V, modelUrl: string, serverEnv: Record<string, string>) {
  const { sizes } = bench;
  const deployment = await bench.deploy(variant, modelUrl, serverEnv);
  const token = await bench.client(deployment.base).signIn();
  const target = { name: 'fs', url: `${deployment.base}/files`, token };
  const warm = await bench.load<UploadsResult>({ kind: 'uploads', targets: [target], file: { kind: 'text', bytes: 64 * 1024 }, concurrent: 1, rounds: 1, warmup: false });
  await sleep(2000); // settled: what an idle process holds
  const idle = bench.rssMb(deployment.apiPid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, bench.rssMb(deployment.apiPid))), 20);
  const result = await bench.load<UploadsResult>({
    kind: 'uploads',
    targets: [target],
    file: { kind: 'text', bytes: sizes.uploadBytes },
    concurrent: sizes.concurrent,
    rounds: sizes.concurrentRounds,
    warmup: false,
  });
  clearInterval(sampler);
  peak = Math.max(peak, bench.rssMb(deployment.apiPid));
  await deployment.stop();
  if (result.firstFailure) console.log(`concurrent uploads, ${variant.label}: ${result.errors} failed, the first: ${result.firstFailure}`);
  const wallMs = median((result.rounds.fs ?? []).map((round) => round.wallMs));
  const growthMb = peak - idle;
  const row: BenchRow = {
    label: variant.label,
    scenario: `${sizes.concurrent} uploads of ${mib(sizes.uploadBytes)} at once (fs): api RSS growth over idle`,
    rps: NaN,
    p50: median((result.rounds.fs ?? []).flatMap((round) => round.uploadsMs)),
    p99: NaN,
    errors: warm.errors + result.errors,
    note:
      `idle ${fixed(idle, 0)} MB, peak ${fixed(peak, 0)} MB over ${sizes.concurrentRounds} round(s) (sampled every 20 ms): **${signed(growthMb, 0)} MB**; ` +
      `all ${sizes.concurrent} answered in ${fixed(wallMs, 0)} ms (${fixed((sizes.concurrent * sizes.uploadBytes) / MiB / (wallMs / 1000))} MiB/s together)`,
    figures: { 'api RSS growth, MB': growthMb, 'all at once, ms': wallMs },
  };
  return { row, growthMb };
}

/**
 * d: the same prompt with and without an image, each in a fresh chatroom, the two alternating which
 * goes first; after one uncounted pair. "To the model" ends at the stamp of the fake model's first
 * chunk, which it writes once it has read and parsed the whole request.
 */
async function imagePrompt<V extends { label: string }>(bench: UploadsBench<V>, label: string, deployment: UploadDeployment, token: string): Promise<BenchRow> {
  const { sizes } = bench;
  const api = bench.client(deployment.base);
  const png = noisePng(sizes.imageBytes);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'noise.png');
  const uploaded = await fetch(`${deployment.base}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  if (uploaded.status !== 201) throw new Error(`the image upload answered ${uploaded.status}: ${(await uploaded.text()).slice(0, 300)}`);
  const image = (await uploaded.json()) as { id: string };
  const prompts: PromptLatencyTask['prompts'] = [];
  for (let round = -1; round < sizes.rounds; round++) {
    const pair = [
      { tag: round < 0 ? 'warm-up' : 'image', room: await api.room(token), attachmentIds: [image.id] },
      { tag: round < 0 ? 'warm-up' : 'text', room: await api.room(token), attachmentIds: [] },
    ];
    prompts.push(...(round % 2 === 0 ? pair.reverse() : pair));
  }
  const result = await bench.load<PromptLatencyResult>({ kind: 'prompt-latency', base: deployment.base, token, prompts });
  if (result.firstFailure) console.log(`image prompt, ${label}: ${result.errors} failed, the first: ${result.firstFailure}`);
  const of = (tag: string, pick: (p: PromptLatencyResult['prompts'][number]) => number) => median(result.prompts.filter((p) => p.tag === tag).map(pick));
  const [withImage, without] = [of('image', (p) => p.toModelMs), of('text', (p) => p.toModelMs)];
  const [deltaWith, deltaWithout] = [of('image', (p) => p.toFirstDeltaMs), of('text', (p) => p.toFirstDeltaMs)];
  return {
    label,
    scenario: `prompt with a ${mib(png.length)} PNG (inline): time to the model, minus the same prompt without it`,
    rps: NaN,
    p50: withImage - without,
    p99: NaN,
    errors: result.errors,
    note:
      `send → the model has the request: ${fixed(withImage)} ms with the image, ${fixed(without)} without (**${signed(withImage - without)} ms**); ` +
      `send → first delta at the client: ${fixed(deltaWith)} / ${fixed(deltaWithout)} ms (${signed(deltaWith - deltaWithout)})`,
    figures: { 'image adds to the model, ms': withImage - without, 'image adds to the first delta, ms': deltaWith - deltaWithout },
  };
}
