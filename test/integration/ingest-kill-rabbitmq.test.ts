// kill -9 of a Tidings node while it consumes; see ingest-kill-run.ts.
import { describe } from 'vitest';
import { describeKillTest, rabbitDriver } from './ingest-kill-run.js';

describe('rabbitmq ingest with a node killed mid-stream', () => describeKillTest(rabbitDriver, 'feed:kill-rabbit'));
