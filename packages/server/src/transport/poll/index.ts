export { type ChangeRateOptions, ChangeRateTracker } from './change-rate.js';
export { createPollHandler, type PollHandler, type PollHandlerOptions } from './poll-handler.js';
export type { DiscontinuityReason, PollDiscontinuity } from './poll-reply.js';
