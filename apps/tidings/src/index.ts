/**
 * `tidings`: the Tidings server application. The CLI (`tidings serve|genconfig|gentoken|version`)
 * is the usual entry; these exports let tests and embedders start the same server in-process.
 */
export { type DevSecrets, resolveServeConfig, type ServeConfig } from './config/dev-profile.js';
export { renderConfigDocs } from './config/docs.js';
export { type ConfigOverride, unknownEnvNames } from './config/env.js';
export { generateConfig, generateConfigText } from './config/genconfig.js';
export { type LoadConfigOptions, loadConfig } from './config/load.js';
export { type ConfigInput, configSchema, type TidingsConfig } from './config/schema.js';
export { type GenerateTokenOptions, generateToken } from './gentoken.js';
export { createLogger, type TidingsLogger } from './logger.js';
export { type RunningServer, type StartServerOptions, startServer } from './serve.js';
