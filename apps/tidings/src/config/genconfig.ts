import { generateApiKey, generateSecret, type RandomBytes } from './dev-profile.js';
import { configSchema, type TidingsConfig } from './schema.js';

/**
 * A complete production config with fresh secrets: one HS256 key (32 random bytes), one API key,
 * and two example namespaces. Every option is spelled out with its default so the file documents
 * itself; it validates against `configSchema` as is.
 */
export function generateConfig(random?: RandomBytes): TidingsConfig {
  return configSchema.parse({
    auth: { keys: [{ kid: 'k1', alg: 'HS256', secret: generateSecret(random) }] },
    api: { keys: [generateApiKey(random)] },
    channels: {
      namespaces: {
        // A conversation: members subscribe, publish, see who is there, and resume after a drop.
        chat: {
          historySize: 100,
          historyTtlMs: 3_600_000,
          allowRecovery: true,
          presence: true,
          joinLeave: true,
          allowSubscribeForClient: true,
          allowPublishForSubscriber: true,
          allowHistoryForSubscriber: true,
          allowPresenceForSubscriber: true,
        },
        // Server-to-client updates: only the backend publishes (through the API).
        updates: {
          historySize: 50,
          historyTtlMs: 600_000,
          allowRecovery: true,
          allowSubscribeForClient: true,
        },
      },
    },
  });
}

/** `generateConfig` as pretty JSON with a trailing newline, ready to save as a config file. */
export function generateConfigText(random?: RandomBytes): string {
  return `${JSON.stringify(generateConfig(random), null, 2)}\n`;
}
