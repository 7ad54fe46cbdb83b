import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Local ports of this process's TCP connections to `remotePort` (Linux /proc). */
function localPortsTo(remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, remote, inode] = [fields[1], fields[2], fields[9]];
      if (!local || !remote || !inode || !inodes.has(inode)) continue;
      if (parseInt(remote.split(':')[1] ?? '', 16) === remotePort) ports.add(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

/** How many of Redis's clients (CLIENT LIST) are connections of this process. */
export async function redisClientsOfThisProcess(redisUrl: string): Promise<number> {
  const admin = new Redis(redisUrl, { lazyConnect: true });
  try {
    await admin.connect();
    const list = (await admin.client('LIST')) as string;
    const ours = localPortsTo(Number(new URL(redisUrl).port || 6379));
    return list
      .split('\n')
      .map((line) => /(?:^| )addr=[^ ]*:(\d+) /.exec(line)?.[1])
      .filter((port): port is string => port !== undefined && ours.has(Number(port))).length;
  } finally {
    admin.disconnect();
  }
}
