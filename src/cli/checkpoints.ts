import { exportCheckpoints } from '../audit/checkpoints.js';
import { openDatabase } from '../db/client.js';
import { loadEnv } from '../env.js';
import { UsageError, withServices } from './context.js';

/**
 * `checkpoints export`: every checkpoint and the public keys that verify them, as JSON on stdout,
 * for someone to keep outside the database (`verify --checkpoints FILE` checks against it).
 * `checkpoints create`: signs the current chain head now (needs the server's key configuration).
 */
export const checkpointsCommand = {
  usage: 'export | create',
  async run(args: string[]): Promise<number> {
    const [action, ...rest] = args;
    if (rest.length > 0 || (action !== 'export' && action !== 'create')) throw new UsageError('checkpoints export, or checkpoints create');
    if (action === 'create') {
      const created = await withServices((services) => services.checkpoints.create());
      console.log(JSON.stringify(created, null, 2));
      return 0;
    }
    const env = loadEnv();
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 });
    try {
      console.log(JSON.stringify(await exportCheckpoints(database.db), null, 2));
      return 0;
    } finally {
      await database.close();
    }
  },
};
