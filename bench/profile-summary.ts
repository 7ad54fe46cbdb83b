/**
 * Where a server's CPU went, from the V8 CPU profiles `BENCH_CPU_PROF=dir npm run bench` writes:
 *
 *   node --import tsx bench/profile-summary.ts <dir or .cpuprofile> [top=25]
 *
 * For each profile, as shares of the time the process was busy: self time by package (node_modules
 * name, `app` for our code, node's own modules, and the engine's own: garbage collection, socket
 * writes, other), the functions with the most self time, and whose round trips the socket writes were.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [target = '.', topArgument = '25'] = process.argv.slice(2);
const SOCKET_WRITES = ['writev', 'writeUtf8String', 'writeBuffer', 'writeLatin1String'];
const top = Number(topArgument);

const packageOf = (url: string) => {
  if (!url) return '(native)';
  const dependency = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (dependency) return dependency;
  if (url.includes('/dist/')) return 'app';
  return url.startsWith('node:') ? url : '(other)';
};
const where = ({ functionName, url, lineNumber }: CallFrame) =>
  `${functionName || '(anonymous)'} ${url.includes('/dist/') ? `dist/${url.split('/dist/')[1]}` : packageOf(url)}:${lineNumber + 1}`;

function summarise(file: string, roles: Map<string, string>) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  // Shares are of the time the process was busy: idle samples (waiting for I/O) are left out.
  const idle = [...self].filter(([id]) => nodes.get(id)?.callFrame.functionName === '(idle)').reduce((sum, [, time]) => sum + time, 0);
  const sampled = [...self.values()].reduce((sum, time) => sum + time, 0);
  const total = sampled - idle;

  const add = (map: Map<string, number>, key: string, time: number) => map.set(key, (map.get(key) ?? 0) + time);
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const intoSyscalls = new Map<string, number>();
  for (const [id, time] of self) {
    const node = nodes.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    const name = node.callFrame.functionName;
    // The engine's own time, told apart: collecting garbage, or a system call made for a socket.
    const native = name === '(garbage collector)' ? '(garbage collector)' : SOCKET_WRITES.includes(name) ? '(socket writes)' : '(native, other)';
    add(byPackage, node.callFrame.url ? packageOf(node.callFrame.url) : native, time);
    add(byFunction, where(node.callFrame), time);
    if (SOCKET_WRITES.includes(name)) {
      // The first library frame above the write says whose round trip it was.
      let current = parents.get(id);
      let caller = '(unknown)';
      while (current !== undefined) {
        const frame = nodes.get(current)?.callFrame;
        if (frame && frame.url.includes('node_modules')) {
          caller = packageOf(frame.url);
          break;
        }
        current = parents.get(current);
      }
      add(intoSyscalls, caller, time);
    }
  }
  const pid = /\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1] ?? '';
  const percent = (time: number) => `${((100 * time) / total).toFixed(1).padStart(5)}%`;
  const list = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, time]) => `  ${percent(time)}  ${key}`)
      .join('\n');
  console.log(`\n# ${file}${roles.get(pid) ? ` (${roles.get(pid)})` : ''}: busy ${(total / 1e6).toFixed(1)} s of ${(sampled / 1e6).toFixed(1)} s sampled; shares of the busy time`);
  console.log(`\nSelf time by package\n${list(byPackage, top)}`);
  console.log(`\nFunctions with the most self time\n${list(byFunction, top)}`);
  console.log(`\nSocket writes (system calls), by the library that made them\n${list(intoSyscalls, 10)}`);
}

const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(target, name))
  : [target];
const processesFile = statSync(target).isDirectory() ? join(target, 'processes.txt') : '';
const roles = new Map<string, string>();
try {
  for (const line of readFileSync(processesFile, 'utf8').split('\n').filter(Boolean)) {
    const [pid = '', ...rest] = line.split(' ');
    roles.set(pid, rest.join(' '));
  }
} catch {
  // a single file, or profiles written without the bench
}
for (const file of files) summarise(file, roles);
