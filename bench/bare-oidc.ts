/** The bare oidc-provider with its in-memory adapter (bench/bare-provider.ts). */
import { startBareProvider } from './bare-provider.js';

startBareProvider();
