// kill -9 of a Tidings node while it consumes; see ingest-kill-run.ts.
import { describe } from 'vitest';
import { describeKillTest, redisDriver } from './ingest-kill-run.js';

describe('redis ingest with a node killed mid-stream', () => describeKillTest(redisDriver, 'feed:kill-redis'));
