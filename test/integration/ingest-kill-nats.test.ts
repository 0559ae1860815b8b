// kill -9 of a Tidings node while it consumes; see ingest-kill-run.ts.
import { describe } from 'vitest';
import { describeKillTest, natsDriver } from './ingest-kill-run.js';

describe('nats ingest with a node killed mid-stream', () => describeKillTest(natsDriver, 'feed:kill-nats'));
