import { checkpointMessage, exportCheckpoints, listCheckpoints, type StoredCheckpoint } from '../../audit/checkpoints.js';
import type { PublicKeyInfo } from '../../audit/signing-key.js';
import { builder } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';

const CheckpointKey = builder.objectRef<Pick<PublicKeyInfo, 'id' | 'pem' | 'jwk'>>('CheckpointKey').implement({
  description: 'An Ed25519 public key that checkpoints are signed with.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The RFC 7638 thumbprint of the JWK (SHA-256, base64url): what checkpoints name their key by.' }),
    pem: t.exposeString('pem', { description: 'SPKI PEM.' }),
    jwk: t.field({ type: 'JSON', resolve: (k) => k.jwk }),
  }),
});

const Checkpoint = builder.objectRef<StoredCheckpoint>('Checkpoint').implement({
  description: 'A signed chain head: at batch `batch` the head of the hash chain was `head`. A retention drop signs one that also names what it pruned.',
  fields: (t) => ({
    id: t.exposeID('id'),
    batch: t.exposeInt('batch'),
    head: t.exposeString('head'),
    signedAt: t.expose('signedAt', { type: 'DateTime' }),
    prunedMonth: t.exposeString('prunedMonth', { nullable: true, description: 'The month (YYYY-MM) a retention drop removed.' }),
    prunedEvents: t.exposeInt('prunedEvents', { nullable: true, description: 'How many events that drop removed.' }),
    keyId: t.exposeString('keyId'),
    key: t.field({
      type: CheckpointKey,
      nullable: true,
      description: 'The public key stored for keyId (null when its row is gone). Pin it outside the database: whoever can write the database can replace it.',
      resolve: (c, _args, ctx) => (c.publicKeyPem ? ctx.services.checkpoints.describeKey(c.publicKeyPem) : null),
    }),
    message: t.string({ description: 'The exact text signed (UTF-8).', resolve: (c) => checkpointMessage(c) }),
    signature: t.exposeString('signature', { description: 'Ed25519 over `message`, base64url.' }),
  }),
});

const CheckpointConnection = connectionOf('Checkpoint', Checkpoint);

builder.queryFields((t) => ({
  checkpoints: t.field({
    type: CheckpointConnection,
    description: 'Signed checkpoints of the hash chain, newest first.',
    authScopes: { read: true },
    args: pageArgs(t.arg),
    resolve: (_root, args, ctx) => listCheckpoints(ctx.services.db, { first: args.first ?? 50, after: args.after }, ctx.services.limits.MAX_PAGE_SIZE),
  }),
  checkpointKey: t.field({
    type: CheckpointKey,
    nullable: true,
    description: 'The key this server signs checkpoints with; null when checkpoints are off.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.services.checkpoints.signingKey,
  }),
  checkpointExport: t.field({
    type: 'JSON',
    description: 'Every checkpoint with the public keys that verify them: the file `npm run cli -- verify --checkpoints` checks the database against. Keep it outside the database.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => exportCheckpoints(ctx.services.db),
  }),
}));

builder.mutationFields((t) => ({
  createCheckpoint: t.field({
    type: Checkpoint,
    description: 'Signs the current chain head now (CHECKPOINTS_DISABLED when the server has no signing key).',
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.services.checkpoints.create(),
  }),
}));
