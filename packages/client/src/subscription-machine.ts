/** States of one channel subscription. */
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed';

/** Inputs that move a subscription. */
export type SubscriptionInput = 'subscribe' | 'subscribed' | 'connection_lost' | 'unsubscribe' | 'failed';

/**
 * Why a subscription moved, carried on every state event.
 * - `subscribe_called` / `unsubscribe_called`: the application asked.
 * - `subscribe_reply`: the server accepted (recovered or not, see the event).
 * - `connection_lost`: the connection dropped; the subscription resubscribes when it is back.
 * - `gap_detected`: a live publication skipped an offset; resubscribe with recovery.
 * - `server_unsubscribe`: the server removed the subscription with a terminal code.
 * - `subscribe_error`: the server refused the subscribe command (permission, token).
 */
export type SubscriptionReason =
  | 'subscribe_called'
  | 'unsubscribe_called'
  | 'subscribe_reply'
  | 'connection_lost'
  | 'gap_detected'
  | 'server_unsubscribe'
  | 'subscribe_error';

/** `table[state][input]` is the next state; absent means ignored. Pure data, as the connection's. */
export const subscriptionTable: Readonly<
  Record<SubscriptionState, Partial<Readonly<Record<SubscriptionInput, SubscriptionState>>>>
> = {
  unsubscribed: { subscribe: 'subscribing' },
  subscribing: {
    subscribed: 'subscribed',
    connection_lost: 'subscribing',
    unsubscribe: 'unsubscribed',
    failed: 'unsubscribed',
  },
  subscribed: {
    connection_lost: 'subscribing',
    subscribe: 'subscribing',
    unsubscribe: 'unsubscribed',
    failed: 'unsubscribed',
  },
};

/** The next state, or `undefined` when `input` is ignored in `state`. */
export function nextSubscriptionState(
  state: SubscriptionState,
  input: SubscriptionInput,
): SubscriptionState | undefined {
  return subscriptionTable[state][input];
}
