import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { OneWayRequestError, parseOneWayRequest } from './one-way-request.js';

const request = (url: string, headers: Record<string, string> = {}) => ({ url, headers }) as unknown as IncomingMessage;

describe('parseOneWayRequest (query read through oneWayQuerySchema)', () => {
  it('reads channels (deduplicated), token, since and maxRate; empty values count as absent', () => {
    const parsed = parseOneWayRequest(request('/s?channel=a&channel=b&channel=a&token=t&maxRate=2.5&cursor='));
    expect(parsed).toEqual({ channels: ['a', 'b'], token: 't', resume: {}, maxRate: 2.5 });
    const one = parseOneWayRequest(request('/s?channel=a&since=e.3&maxRate='));
    expect(one).toEqual({ channels: ['a'], token: undefined, resume: { a: { epoch: 'e', offset: 3 } } });
  });

  it('the Authorization header wins over ?token=', () => {
    expect(parseOneWayRequest(request('/s?channel=a&token=q', { authorization: 'Bearer h' })).token).toBe('h');
  });

  it.each(['0', '-1', '1001', 'abc', 'Infinity'])('refuses maxRate=%s with 400 / 107', (value) => {
    let caught: unknown;
    try {
      parseOneWayRequest(request(`/s?channel=a&maxRate=${value}`));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OneWayRequestError);
    expect(caught).toMatchObject({
      status: 400,
      code: 107,
      message: 'maxRate must be a number of updates a second in (0, 1000]',
    });
  });

  it('a bad resume position is reported before a bad maxRate, as before', () => {
    expect(() => parseOneWayRequest(request('/s?channel=a&channel=b&since=e.1&maxRate=0'))).toThrow(
      /exactly one channel/,
    );
  });
});
