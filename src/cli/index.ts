import { SigningKeyError } from '../audit/signing-key.js';
import { AuditError } from '../errors.js';
import { checkpointsCommand } from './checkpoints.js';
import { UsageError } from './context.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { verifyCommand } from './verify.js';

/** `npm run cli -- <command> [arguments]`. Each command answers its exit code. */
const commands: Record<string, { run: (args: string[]) => Promise<number>; usage: string }> = {
  import: importCommand,
  export: exportCommand,
  verify: verifyCommand,
  checkpoints: checkpointsCommand,
};

function help(): string {
  return ['usage: npm run cli -- <command> [arguments]', '', ...Object.entries(commands).map(([name, c]) => `  ${name} ${c.usage}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\nusage: npm run cli -- ${name} ${command.usage}`);
      return 2;
    }
    if (error instanceof AuditError) {
      console.error(`${error.code}: ${error.message}`);
      return 1;
    }
    if (error instanceof SigningKeyError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
