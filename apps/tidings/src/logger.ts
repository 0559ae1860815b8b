import pino from 'pino';
import pretty from 'pino-pretty';
import type { TidingsConfig } from './config/schema.js';

/** A pino logger, which also satisfies the library's `Logger` interface. */
export type TidingsLogger = pino.Logger;

// Defence in depth: no code path logs these, but a future `logger.info({ req })` must not leak them.
const redactPaths = [
  'token',
  'secret',
  'apiKey',
  'password',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.password',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

/**
 * The process logger: JSON lines on stdout, or pino-pretty output when `log.pretty` is true, or
 * "auto" and stdout is a terminal. Secret-looking fields are redacted.
 *
 * @param stream where lines go (default stdout); pretty output is written to it synchronously.
 */
export function createLogger(
  log: TidingsConfig['log'],
  stream: NodeJS.WritableStream = process.stdout,
  isTty: boolean = process.stdout.isTTY === true,
): TidingsLogger {
  const options: pino.LoggerOptions = {
    level: log.level,
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  const usePretty = log.pretty === true || (log.pretty === 'auto' && isTty);
  if (usePretty) {
    return pino(
      options,
      pretty({
        destination: stream,
        sync: true,
        colorize: isTty,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
      }),
    );
  }
  return pino(options, stream === process.stdout ? pino.destination({ dest: 1, sync: true }) : stream);
}
