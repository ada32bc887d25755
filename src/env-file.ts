import fs from 'node:fs';
import path from 'node:path';

/**
 * Settings from a file, for the entry points (server and CLI) to call before loadConfig: the file
 * named by ENV_FILE, else ./.env when it exists. Variables already set in the environment win
 * (process.loadEnvFile never overrides them), so a deployment's own environment stays in charge.
 * Returns the file read, if any. A missing ENV_FILE is an error: it was asked for by name.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const named = env.ENV_FILE;
  const file = named ? path.resolve(cwd, named) : path.join(cwd, '.env');
  if (!named && !fs.existsSync(file)) return undefined;
  try {
    process.loadEnvFile(file);
  } catch (error) {
    throw new Error(`Cannot read the settings file ${file} (ENV_FILE): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  return file;
}
