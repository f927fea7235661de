import type { WebSocket, WebSocketServer } from 'ws';

/** Message types only a graphql-ws server may send. */
const SERVER_ONLY = new Set(['connection_ack', 'next', 'error']);

/**
 * graphql-ws (6.x) answers a client that sends a server-only message (connection_ack, next, error)
 * by throwing inside its handler: it prints the stack with console.error and closes with 4500
 * Internal Server Error. The protocol asks for 4400 Bad Request for a message of the wrong kind, and
 * a client's mistake is not a server fault: this closes such sockets with 4400 before graphql-ws
 * sees the message. Install it before `useServer` so that it sees every socket first.
 */
export function rejectServerOnlyMessages(wsServer: WebSocketServer): void {
  wsServer.on('connection', (socket: WebSocket) => {
    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'message') {
        const type = messageType(String(args[0]));
        if (type !== undefined && SERVER_ONLY.has(type)) {
          socket.close(4400, `Unexpected message of type ${type} received`);
          return true;
        }
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
  });
}

function messageType(data: string): string | undefined {
  if (!data.includes('"type"')) return undefined;
  try {
    const message = JSON.parse(data) as { type?: unknown } | null;
    return message && typeof message === 'object' && typeof message.type === 'string' ? message.type : undefined;
  } catch {
    return undefined;
  }
}
