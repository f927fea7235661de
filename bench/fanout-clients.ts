/**
 * The fan-out benchmark's subscribers, in a process of their own (bench/fanout.ts forks it), so that
 * the server's process measures the server alone. Each is a raw `ws` socket speaking the
 * graphql-transport-ws protocol with one subscription: far lighter than a graphql-ws client, which
 * matters when 1,000 of them share a 2-core machine with the server. A receipt is timed with
 * `performance.timeOrigin + performance.now()`, the same wall clock the parent times writes with.
 *
 * Commands from the parent (process.send): open, subscribe, live, clear, count, report, close; each
 * is answered with one message.
 */
import WebSocket from 'ws';

interface Socket {
  ws: WebSocket;
  /** Event ids in the order they arrived, and when. */
  ids: string[];
  times: number[];
  /** Messages that were not a `next` with an event (errors, complete). */
  other: string[];
}

type Command =
  | { cmd: 'open'; url: string; count: number; connectionParams: Record<string, unknown> }
  | { cmd: 'subscribe'; query: string }
  | { cmd: 'live'; id: string }
  | { cmd: 'clear' }
  | { cmd: 'count' }
  | { cmd: 'report'; acked: Array<[string, number]> }
  | { cmd: 'close' };

const sockets: Socket[] = [];
const now = () => performance.timeOrigin + performance.now();
/** This process's CPU time so far, in seconds: what the subscribers themselves cost the machine. */
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
// The first `"id":"` inside the payload is the event's (the frame's own id comes before "payload").
const PAYLOAD = Buffer.from('"payload":');
const ID = Buffer.from('"id":"');

function eventId(data: Buffer): string | null {
  const payload = data.indexOf(PAYLOAD);
  if (payload < 0) return null;
  const start = data.indexOf(ID, payload);
  if (start < 0) return null;
  const from = start + ID.length;
  return data.toString('latin1', from, data.indexOf(0x22, from));
}

function open(url: string, connectionParams: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    const socket: Socket = { ws, ids: [], times: [], other: [] };
    let acknowledged = false;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
    ws.on('message', (data: Buffer) => {
      const at = now();
      if (acknowledged) {
        const id = data.includes('"type":"next"') ? eventId(data) : null;
        if (id !== null && !data.includes('"errors":[')) {
          socket.ids.push(id);
          socket.times.push(at);
        } else socket.other.push(data.toString());
        return;
      }
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'ping') return void ws.send('{"type":"pong"}');
      if (message.type !== 'connection_ack') return reject(new Error(`unexpected ${data.toString()}`));
      acknowledged = true;
      sockets.push(socket);
      resolve();
    });
    ws.on('error', reject);
    ws.on('close', (code, reason) => {
      if (!acknowledged) reject(new Error(`closed ${code} ${reason}`));
      else socket.other.push(`closed ${code}`);
    });
  });
}

function report(acked: Map<string, number>) {
  const latencies: number[] = [];
  let lost = 0;
  let duplicates = 0;
  // Every subscriber must see the events in one order (commit order): compared with the first one's.
  let outOfOrder = 0;
  const reference = sockets[0]?.ids ?? [];
  let first = Infinity;
  let last = 0;
  let delivered = 0;
  for (const s of sockets) {
    const seen = new Map<string, number>();
    s.ids.forEach((id, i) => {
      if (seen.has(id)) duplicates++;
      else seen.set(id, s.times[i]!);
      if (reference[i] !== id) outOfOrder++;
    });
    delivered += s.ids.length;
    for (const t of s.times) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
    for (const id of acked.keys()) {
      const got = seen.get(id);
      if (got === undefined) lost++;
      else latencies.push(Math.max(0, got - acked.get(id)!));
    }
  }
  latencies.sort((a, b) => a - b);
  const pick = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]! : NaN);
  const other = sockets.flatMap((s) => s.other).slice(0, 5);
  return { p50: pick(50), p99: pick(99), max: latencies.at(-1) ?? NaN, lost, duplicates, outOfOrder, delivered, first, last, other };
}

process.on('message', async (command: Command) => {
  try {
    switch (command.cmd) {
      case 'open': {
        // In waves, so that the server's accept queue and the handshakes keep up.
        for (let i = 0; i < command.count; i += 250) {
          const wave = Math.min(250, command.count - i);
          await Promise.all(Array.from({ length: wave }, () => open(command.url, command.connectionParams)));
        }
        return process.send!({ opened: sockets.length });
      }
      case 'subscribe': {
        const message = JSON.stringify({ id: '1', type: 'subscribe', payload: { query: command.query } });
        for (const s of sockets) s.ws.send(message);
        return process.send!({ subscribed: sockets.length });
      }
      case 'live': {
        let live = 0;
        for (const s of sockets) if (s.ids.includes(command.id)) live++;
        return process.send!({ live });
      }
      case 'clear':
        for (const s of sockets) {
          s.ids.length = 0;
          s.times.length = 0;
          s.other.length = 0;
        }
        return process.send!({ cleared: true });
      case 'count': {
        let delivered = 0;
        let last = 0;
        let complete = 0;
        for (const s of sockets) {
          delivered += s.ids.length;
          complete += s.other.length;
          const t = s.times.at(-1);
          if (t !== undefined && t > last) last = t;
        }
        return process.send!({ delivered, last, ended: complete, sockets: sockets.length, cpu: cpu() });
      }
      case 'report':
        return process.send!(report(new Map(command.acked)));
      case 'close': {
        await Promise.all(
          sockets.splice(0).map(
            (s) =>
              new Promise<void>((resolve) => {
                if (s.ws.readyState === WebSocket.CLOSED) return resolve();
                s.ws.once('close', () => resolve());
                s.ws.close(1000);
              }),
          ),
        );
        return process.send!({ closed: true });
      }
    }
  } catch (error) {
    process.send!({ error: String(error) });
  }
});
