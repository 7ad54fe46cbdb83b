/**
 * The load generator, run as a process of its own so that its CPU is not the server's. Takes one
 * task as JSON in argv[2], prints one result as JSON on stdout.
 *   http      autocannon against one URL                      → { rps, p50, p99, errors }
 *   messages  senders, each in its own chatroom, each sending one prompt after another and waiting
 *             for the stored reply (POST …/message, the waiting form)  → { count, rps, p50, p99, errors }
 *   sse       listeners of one reply's stream                  → { opened, completed, errors }
 */
import autocannon from 'autocannon';

type Task =
  | { kind: 'http'; url: string; headers: Record<string, string>; connections: number; seconds: number }
  | { kind: 'messages'; base: string; senders: { token: string; room: string }[]; seconds: number }
  | { kind: 'sse'; url: string; token: string; listeners: number };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function http(task: Extract<Task, { kind: 'http' }>) {
  const result = await autocannon({ url: task.url, headers: task.headers, connections: task.connections, duration: task.seconds });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

async function messages(task: Extract<Task, { kind: 'messages' }>) {
  const latencies: number[] = [];
  let errors = 0;
  const until = Date.now() + task.seconds * 1000;
  await Promise.all(
    task.senders.map(async ({ token, room }) => {
      while (Date.now() < until) {
        const started = performance.now();
        const response = await fetch(`${task.base}/chatroom/${room}/message`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ content: 'How fast is the reply path?' }),
        }).catch(() => undefined);
        const body = (await response?.json().catch(() => undefined)) as { reply?: { status?: string } } | undefined;
        if (response?.status === 201 && body?.reply?.status === 'done') latencies.push(performance.now() - started);
        else errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, rps: latencies.length / task.seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

async function sse(task: Extract<Task, { kind: 'sse' }>) {
  let opened = 0;
  let completed = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: task.listeners }, async () => {
      try {
        const response = await fetch(task.url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${task.token}` } });
        if (response.status !== 200 || !response.body) {
          errors++;
          await response.body?.cancel();
          return;
        }
        opened++;
        let text = '';
        for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) text += chunk;
        if (text.includes('event: done')) completed++;
        else errors++;
      } catch {
        errors++;
      }
    }),
  );
  return { opened, completed, errors };
}

const task = JSON.parse(process.argv[2] ?? '{}') as Task;
const result = task.kind === 'http' ? await http(task) : task.kind === 'messages' ? await messages(task) : await sse(task);
console.log(JSON.stringify(result));
