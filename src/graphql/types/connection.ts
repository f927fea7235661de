import type { ArgBuilder, ObjectRef } from '@pothos/core';
import type { Connection } from '../../history/events.js';
import { builder } from '../builder.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

export const PageInfo = builder
  .objectRef<Connection<unknown>['pageInfo']>('PageInfo')
  .implement({
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

/** `<Name>Connection` and `<Name>Edge` types for a node type: Relay-style, forward keyset paging. */
export function connectionOf<T extends object>(name: string, node: ObjectRef<Types, T>) {
  const Edge = builder.objectRef<Connection<T>['edges'][number]>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor'),
      node: t.field({ type: node, resolve: (edge) => edge.node as never }),
    }),
  });
  return builder.objectRef<Connection<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (c) => c.edges }),
      nodes: t.field({ type: [node], resolve: (c) => c.edges.map((edge) => edge.node) as never }),
      pageInfo: t.field({ type: PageInfo, resolve: (c) => c.pageInfo }),
    }),
  });
}

/** `first` and `after`, with the default page size; the maximum is checked by the domain. */
export function pageArgs(arg: ArgBuilder<Types>, defaultFirst = 50) {
  return {
    first: arg.int({ defaultValue: defaultFirst, description: 'Page size, at most MAX_PAGE_SIZE (500 by default).' }),
    after: arg.string({ required: false, description: 'The endCursor of the previous page.' }),
  };
}
