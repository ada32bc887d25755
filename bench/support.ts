import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/storage/db.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { loadSecretKey } from '../src/secrets/secret-key.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import { RP_REDIRECT } from '../test/support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** Registers the benchmark's relying party directly in the server's database (as the CLI would). */
export const TestClientFactory = {
  async create(dataDir: string): Promise<Client> {
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const database = await openDatabase({ dataDir: config.dataDir, secrets: new SecretBox(loadSecretKey(config).key) });
    try {
      return await createServices(config, database, createLogger('silent')).tenants.createClient({ tenantId: 'demo', name: 'Bench RP', redirectUris: [RP_REDIRECT] });
    } finally {
      await database.close();
    }
  },
};
