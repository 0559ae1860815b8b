export { createJwtAuthenticator, JwtAuthenticator, type JwtAuthenticatorOptions } from './jwt-authenticator.js';
export {
  isJwtAlgorithm,
  type JwtAlgorithm,
  type JwtKeyConfig,
  jwtAlgorithms,
  minHmacSecretBytes,
} from './jwt-keys.js';
export { type SigningKey, type SignTokenOptions, signToken } from './sign-token.js';
export type {
  Authenticator,
  ConnectAuthRequest,
  Credentials,
  ServerSideSubscription,
  SubscriptionGrant,
  SubscriptionTokenContext,
} from './types.js';
