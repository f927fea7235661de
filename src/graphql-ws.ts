import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { GraphQLError, Kind, getOperationAST, visit, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { AuthContext } from './auth/credentials.js';
import { visibilityKey } from './auth/visibility.js';
import type { Context } from './graphql/builder.js';
import { maskError } from './graphql/errors.js';
import { tooSlow } from './graphql/types/event.js';
import type { FeedMember } from './live/fanout.js';
import type { Services } from './services.js';

interface SocketState {
  auth: AuthContext;
  untrack: () => void;
  /** The TCP socket under the WebSocket: corked while a batch of frames is written. */
  tcp: Socket;
  /** Ids of the operations running on this socket (MAX_SUBSCRIPTIONS_PER_SOCKET). */
  operations: Set<string>;
}

type Enveloped = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };

/**
 * graphql-ws on the HTTP server's WebSocket server: the credential is checked when a socket opens
 * (and kept with it, so that revoking it closes the socket), every operation goes through Yoga's
 * plugins and context like HTTP, and subscriptions whose results are identical share one feed (see
 * live/fanout.ts): one source, one execution and one serialisation per event for all of them.
 */
export function serveGraphqlWs(wsServer: WebSocketServer, yoga: YogaServerInstance<Record<string, unknown>, Context>, services: Services) {
  const sockets = new WeakMap<WebSocket, SocketState>();
  const { fanout, limits } = services;
  return useServer(
    {
      onConnect: async (ctx) => {
        try {
          const auth = await services.auth.authenticate(undefined, ctx.connectionParams);
          const { socket, request } = ctx.extra;
          sockets.set(socket, { auth, untrack: services.auth.trackSocket(auth, socket), tcp: request.socket, operations: new Set() });
          // graphql-ws keeps the upgrade request for the socket's lifetime; nothing here reads it again.
          (ctx.extra as { request?: IncomingMessage }).request = undefined;
          return true;
        } catch {
          return false; // graphql-ws closes the socket with 4403 Forbidden
        }
      },
      onClose: (ctx) => sockets.get(ctx.extra.socket)?.untrack(),
      onComplete: (ctx, id) => void sockets.get(ctx.extra.socket)?.operations.delete(id),
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onSubscribe: async (ctx, id, payload) => {
        const state = sockets.get(ctx.extra.socket)!;
        if (state.operations.size >= limits.MAX_SUBSCRIPTIONS_PER_SOCKET) {
          const limit = limits.MAX_SUBSCRIPTIONS_PER_SOCKET;
          return [new GraphQLError(`At most ${limit} operations at once on one socket.`, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit } })];
        }
        // One set of plugins and one context for HTTP and WebSocket: the same masking, the same auth.
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
          auth: state.auth,
        });
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        state.operations.add(id);
        return args;
      },
      // A subscription's own stream has run its subscribe resolver (scope checks, the audit of the
      // read) like any other; when a feed with the same results is open, it joins that one instead.
      onOperation: (ctx, id, payload, args, result) => {
        if (!isAsyncIterable(result) || getOperationAST(args.document, args.operationName)?.operation !== 'subscription') return undefined;
        const state = sockets.get(ctx.extra.socket)!;
        const stream = result[Symbol.asyncIterator]();
        const key = shareKey(payload, args.document, state.auth);
        if (key === null) return fanout.solo(stream);
        const member = new SocketMember(ctx.extra.socket, state.tcp, id, rootResponseKey(args.document, args.operationName));
        const open = fanout.find(key);
        if (!open) {
          member.leave = fanout.open(key, serialised(stream)).join(member);
          return member;
        }
        stream.return?.().catch(() => undefined);
        member.leave = open.join(member);
        // graphql-ws keeps the execution arguments while the subscription runs; this one's own
        // stream is closed and it never executes again, so its context and enveloped functions can go.
        args.contextValue = undefined;
        args.rootValue = undefined;
        return member;
      },
    },
    wsServer,
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof Object(value)[Symbol.asyncIterator] === 'function';
}

/**
 * Subscriptions with equal keys get identical results: the same document, operation and variables,
 * read by callers who may read the same events. A resumed one (`after`) replays from its own
 * position first, so it is not shared (null): it runs on its own stream, as it always did.
 */
function shareKey(payload: SubscribePayload, document: DocumentNode, auth: AuthContext): string | null {
  if (resumes(document, payload.variables ?? undefined)) return null;
  return JSON.stringify([payload.query, payload.operationName ?? null, payload.variables ?? null, visibilityKey(auth)]);
}

/** Whether any field is given an `after` that is not null (a variable counts when given or defaulted). */
function resumes(document: DocumentNode, variables: Record<string, unknown> | undefined): boolean {
  const defaulted = new Set<string>();
  let found = false;
  visit(document, {
    VariableDefinition(node) {
      if (node.defaultValue && node.defaultValue.kind !== Kind.NULL) defaulted.add(node.variable.name.value);
    },
  });
  visit(document, {
    Argument(node) {
      if (node.name.value !== 'after' || node.value.kind === Kind.NULL) return;
      if (node.value.kind === Kind.VARIABLE) {
        const name = node.value.name.value;
        const given = variables?.[name];
        if (given === null || (given === undefined && !defaulted.has(name))) return;
      }
      found = true;
    },
  });
  return found;
}

/** The JSON of a result as graphql-ws would send it as a `next` payload. */
function serialised(stream: AsyncIterator<ExecutionResult>): AsyncIterator<Buffer> {
  return {
    next: async () => {
      const item = await stream.next();
      if (item.done) return item;
      const { errors, ...rest } = item.value;
      return { value: Buffer.from(JSON.stringify(errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest)), done: false };
    },
    return: async () => {
      await stream.return?.();
      return { value: undefined, done: true };
    },
  };
}

/** Where the subscription's one root field answers (its alias or name), for the path of an error. */
function rootResponseKey(document: DocumentNode, operationName: string | null | undefined): string | undefined {
  const [selection] = getOperationAST(document, operationName)?.selectionSet.selections ?? [];
  return selection?.kind === Kind.FIELD ? (selection.alias ?? selection.name).value : undefined;
}

const NEXT_END = Buffer.from('}');
const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };
type Outcome = IteratorResult<ExecutionResult> | { error: unknown };

/**
 * One subscription of a shared feed on a graphql-ws socket. The feed's payloads are written to the
 * socket here, framed as `{"id":…,"type":"next","payload":…}` with this subscription's id: letting
 * graphql-ws send them would serialise every result again for every subscriber.
 *
 * graphql-ws still runs the subscription and keeps its state: it iterates this object, which
 * yields nothing until the subscription ends, and then only what graphql-ws must send itself — the
 * SUBSCRIBER_TOO_SLOW result (then `complete`), `complete` when the feed's source ended, or `error`
 * when it failed. Those go through the same socket after the frames written here, so in order.
 * When graphql-ws ends the subscription (the client's `complete`, the socket closing) it calls
 * return() first, which takes the member out of the feed: nothing more is written for its id.
 */
class SocketMember implements FeedMember<Buffer>, AsyncIterableIterator<ExecutionResult> {
  leave: () => void = () => {};
  private readonly prefix: Buffer;
  private unflushed = 0;
  private readonly outcomes: Outcome[] = [];
  private waiting: { resolve: (result: IteratorResult<ExecutionResult>) => void; reject: (error: unknown) => void } | null = null;

  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: Socket,
    id: string,
    private readonly responseKey: string | undefined,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  }

  backlog(): number {
    return this.unflushed;
  }

  write(payloads: readonly Buffer[]): void {
    const count = payloads.length;
    this.unflushed += count;
    // Writes complete in order: the last frame's callback stands for the whole batch (also on error).
    const flushed = () => (this.unflushed -= count);
    this.tcp.cork();
    for (let i = 0; i < count; i++) {
      this.socket.send(Buffer.concat([this.prefix, payloads[i]!, NEXT_END]), { binary: false }, i === count - 1 ? flushed : undefined);
    }
    this.tcp.uncork();
  }

  tooSlow(): void {
    const error = tooSlow();
    const located = new GraphQLError(error.message, { path: this.responseKey ? [this.responseKey] : undefined, originalError: error });
    this.settle({ value: { data: null, errors: [maskError(located, error.message, () => {}) as GraphQLError] }, done: false }, DONE);
  }

  end(error?: unknown): void {
    this.settle(error === undefined ? DONE : { error });
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const outcome = this.outcomes.shift();
    if (!outcome) return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
    return 'error' in outcome ? Promise.reject(outcome.error) : Promise.resolve(outcome);
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.leave();
    this.outcomes.length = 0;
    this.settle(DONE);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settle(...outcomes: Outcome[]): void {
    this.outcomes.push(...outcomes);
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = null;
    const outcome = this.outcomes.shift()!;
    if ('error' in outcome) waiting.reject(outcome.error);
    else waiting.resolve(outcome);
  }
}
