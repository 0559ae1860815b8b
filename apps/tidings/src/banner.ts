import type { DevSecrets } from './config/dev-profile.js';

/** What the development banner shows. */
export interface BannerInfo {
  readonly version: string;
  readonly url: string;
  readonly websocketPath: string;
  readonly secrets: DevSecrets;
  /** Connection token for the dashboard and SDK experiments. */
  readonly devToken: string | undefined;
  readonly devTokenUser: string;
  readonly devTokenTtlSec: number;
  readonly channel: string;
  /** Server processes on the port (`--workers`); the banner names them when above 1. */
  readonly workers?: number;
  /** The admin console is on (a password or token is configured): the banner names `/admin`. */
  readonly admin?: boolean;
  /** The engine type, shown beside the workers. */
  readonly engine?: string;
  /**
   * The environment variable the API keys came from (`TIDINGS_API_KEYS`) when no key was
   * generated: the curl line then reads the first key from it, so the secret is never printed.
   */
  readonly apiKeyEnv?: string;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The shell word of the curl line's `X-API-Key` header, or undefined when no key is known. */
function apiKeyHeader(info: BannerInfo): string | undefined {
  if (info.secrets.apiKey !== undefined) return shellQuote(`X-API-Key: ${info.secrets.apiKey}`);
  // `${VAR%%,*}`: the first key of the comma-separated list, expanded by the user's shell.
  if (info.apiKeyEnv !== undefined && /^[A-Z_][A-Z0-9_]*$/.test(info.apiKeyEnv))
    return `"X-API-Key: \${${info.apiKeyEnv}%%,*}"`;
  return undefined;
}

/**
 * The start-up banner of the development profile. It is the only place the generated secrets
 * are ever shown: it goes to the terminal once and never through the logger.
 */
export function renderBanner(info: BannerInfo): string {
  const ws = `${info.url.replace(/^http/, 'ws')}${info.websocketPath}`;
  const lines = [
    '',
    `  Tidings ${info.version} — development profile (no --config). Not for production.`,
    '',
    `  Dashboard    ${info.url}/`,
    ...(info.admin === true || info.secrets.adminPassword !== undefined ? [`  Admin        ${info.url}/admin`] : []),
    `  Live ticker  ${info.url}/examples/live-ticker/   (examples/live-ticker, fed by a demo price feed)`,
    `  WebSocket    ${ws}`,
    `  Health       ${info.url}/healthz   ${info.url}/readyz`,
    ...(info.workers !== undefined && info.workers > 1
      ? [
          `  Workers      ${info.workers} processes on one port${
            info.engine === 'memory' ? ' (the primary keeps the memory engine and relays between them)' : ''
          }`,
        ]
      : []),
    '',
    '  Generated for this run only (shown once, never logged):',
  ];
  if (info.secrets.apiKey !== undefined) lines.push(`  API key      ${info.secrets.apiKey}`);
  if (info.secrets.adminPassword !== undefined)
    lines.push(`  Admin pass   ${info.secrets.adminPassword}   (log in at /admin)`);
  if (info.secrets.hmacSecret !== undefined)
    lines.push(`  HMAC secret  ${info.secrets.hmacSecret}   (HS256, kid "dev")`);
  if (info.devToken !== undefined) {
    const hours = Math.round(info.devTokenTtlSec / 3600);
    lines.push(`  Dev token    ${info.devToken}`);
    lines.push(`               (user "${info.devTokenUser}", expires in ${hours} h; the dashboard already uses it)`);
  }
  const keyHeader = apiKeyHeader(info);
  if (keyHeader !== undefined) {
    const body = JSON.stringify({ channel: info.channel, data: { text: 'hello from curl' } });
    lines.push(
      '',
      info.secrets.apiKey === undefined
        ? `  Publish to ${info.channel} with the first key of ${info.apiKeyEnv} (watch it arrive in the dashboard):`
        : `  Publish to ${info.channel} (watch it arrive in the dashboard):`,
      '',
      `    curl -sS -X POST ${info.url}/api/publish \\`,
      `      -H ${keyHeader} -H 'Content-Type: application/json' \\`,
      `      -d ${shellQuote(body)}`,
    );
  }
  lines.push(
    '',
    '  Anyone on this machine may connect anonymously and use demo:* channels.',
    '  For production: tidings genconfig > tidings.json && tidings serve --config tidings.json',
    '',
  );
  return `${lines.join('\n')}\n`;
}
