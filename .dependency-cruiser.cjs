// Layering rules of DESIGN.md §3 "Dependency direction", checked by `npm run lint:deps`.
// Paths are relative to the repository root. Tests and test helpers may reach across layers
// (a core test builds a memory broker), so every layering rule looks at shipped sources only.
const SOURCE_ONLY = ['\\.test\\.ts$', '\\.test-helpers\\.ts$'];
const SERVER = '^packages/server/src/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'A runtime import cycle makes module initialisation order matter. Cycles that pass through an ' +
        '`import type` edge vanish at compile time and are allowed.',
      severity: 'error',
      from: { pathNot: SOURCE_ONLY },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'protocol-imports-nothing',
      comment:
        'protocol is shared by server and client and runs in browsers: it imports only itself and ' +
        '@bufbuild/protobuf and msgpackr (browser build: its package exports map "browser" to a ' +
        'pure-JS entry), no node: builtins, no other workspace package.',
      severity: 'error',
      from: { path: '^packages/protocol/src/', pathNot: SOURCE_ONLY },
      to: { pathNot: ['^packages/protocol/src/', '^node_modules/@bufbuild/protobuf/', '^node_modules/msgpackr/'] },
    },
    {
      name: 'client-imports-only-protocol',
      comment: 'The browser client reads platform APIs from globalThis; its only dependency is protocol.',
      severity: 'error',
      from: { path: '^packages/client/src/', pathNot: SOURCE_ONLY },
      to: {
        pathNot: [
          '^packages/client/src/',
          '^packages/protocol/(src|dist)/',
          '^@tidings/protocol$',
          '^node_modules/@bufbuild/protobuf/',
        ],
      },
    },
    {
      name: 'core-imports-only-contracts',
      comment:
        'core sees pluggable areas through their types.ts only; concrete brokers, transports, ' +
        'authenticators and the API are wired by apps/tidings.',
      severity: 'error',
      from: { path: `${SERVER}core/`, pathNot: SOURCE_ONLY },
      to: {
        path: SERVER,
        pathNot: `${SERVER}(core/|broker/types\\.ts$|auth/types\\.ts$|transport/types\\.ts$|internal/|observability/)`,
      },
    },
    {
      name: 'transports-not-brokers',
      comment: 'A transport moves frames for core; it never knows which broker runs behind the node.',
      severity: 'error',
      from: { path: `${SERVER}transport/`, pathNot: SOURCE_ONLY },
      to: { path: `${SERVER}broker/`, pathNot: `${SERVER}broker/types\\.ts$` },
    },
    {
      name: 'transports-not-each-other',
      comment: 'Transports are independent; shared helpers live in transport/one-way or transport/types.ts.',
      severity: 'error',
      from: { path: `${SERVER}transport/([^/]+)/`, pathNot: SOURCE_ONLY },
      to: { path: `${SERVER}transport/[^/]+/`, pathNot: `${SERVER}transport/($1|one-way)/` },
    },
    {
      name: 'brokers-not-core',
      comment: 'Brokers import broker/types, protocol and internal only; never core or another area.',
      severity: 'error',
      from: { path: `${SERVER}broker/([^/]+)/`, pathNot: SOURCE_ONLY },
      to: { path: SERVER, pathNot: `${SERVER}(broker/$1/|broker/types\\.ts$|internal/)` },
    },
    {
      name: 'nats-engine-imports-contracts',
      comment:
        'The NATS engine is a broker: it sees @tidings/server through its index (the broker contracts), ' +
        'plus protocol; never core files directly, another engine, testkit or an app.',
      severity: 'error',
      from: { path: '^packages/nats/src/', pathNot: SOURCE_ONLY },
      to: {
        path: '^(packages|apps)/',
        pathNot: [
          '^packages/nats/src/',
          '^packages/protocol/(src|dist)/',
          `${SERVER}(index\\.ts$|broker/types\\.ts$|internal/)`,
          '^packages/server/dist/',
        ],
      },
    },
    {
      name: 'mqtt-edge-imports-public-api',
      comment:
        'The MQTT edge is a transport outside the server package: it sees @tidings/server through its ' +
        'index (the public API) plus protocol; never core files directly, an engine, testkit or an app.',
      severity: 'error',
      from: { path: '^packages/mqtt/src/', pathNot: SOURCE_ONLY },
      to: {
        path: '^(packages|apps)/',
        pathNot: [
          '^packages/mqtt/src/',
          '^packages/protocol/(src|dist)/',
          `${SERVER}index\\.ts$`,
          '^packages/server/dist/',
        ],
      },
    },
    {
      name: 'ingest-imports-only-protocol',
      comment:
        'Ingest sources (outbox, Redis Streams, JetStream, RabbitMQ) publish through an injected ' +
        'IngestPublisher (a TidingsNode fits it); they import protocol only, never the server, an engine or an app.',
      severity: 'error',
      from: { path: '^packages/ingest/src/', pathNot: SOURCE_ONLY },
      to: { path: '^(packages|apps)/', pathNot: ['^packages/ingest/src/', '^packages/protocol/(src|dist)/'] },
    },
    {
      name: 'broker-types-not-core',
      comment: 'The broker contract is imported by core, so it must not import core back.',
      severity: 'error',
      from: { path: `${SERVER}broker/types\\.ts$` },
      to: { path: SERVER, pathNot: `${SERVER}(broker/types\\.ts$|internal/)` },
    },
    {
      name: 'no-fs-in-library-layers',
      comment: 'Only apps/tidings reads files and env; protocol and core get everything injected.',
      severity: 'error',
      from: { path: ['^packages/protocol/src/', `${SERVER}core/`], pathNot: SOURCE_ONLY },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    {
      name: 'packages-not-apps',
      comment: 'Libraries never import the application that wires them.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
  ],
  options: {
    // Type-only imports are real layering edges (core must not even name a concrete broker's
    // types); the no-circular rule above tells them apart by their `type-only` dependency type.
    tsPreCompilationDeps: true,
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^(packages|apps)/[^/]+/dist/', '\\.d\\.ts$'] },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    // Maps NodeNext './x.js' specifiers to './x.ts', and the workspace packages to their sources
    // (as vitest does), so the check needs no build.
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
  },
};
