import { DisconnectCode, ErrorCode } from '@tidings/protocol';

/** MQTT 5.0 reason codes used by the edge (MQTT 5.0 §2.4). */
export const MqttReason = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  NormalDisconnect: 0x00,
  DisconnectWithWill: 0x04,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerShuttingDown: 0x8b,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  QoSNotSupported: 0x9b,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const ConnackCode311 = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** The MQTT 5 reason for a Tidings reply error code (SUBACK, PUBACK, CONNACK). */
export function reasonForError(code: number | undefined): number {
  switch (code) {
    case ErrorCode.Unauthorized:
    case ErrorCode.TokenExpired:
      return MqttReason.BadUserNameOrPassword;
    case ErrorCode.PermissionDenied:
      return MqttReason.NotAuthorized;
    case ErrorCode.UnknownChannel:
    case ErrorCode.BadRequest:
      return MqttReason.TopicNameInvalid;
    case ErrorCode.LimitExceeded:
    case ErrorCode.TooManyRequests:
      return MqttReason.QuotaExceeded;
    case ErrorCode.NotAvailable:
      return MqttReason.ImplementationSpecificError;
    default:
      return MqttReason.UnspecifiedError;
  }
}

/** The MQTT 5 DISCONNECT reason for a Tidings disconnect code. */
export function reasonForDisconnect(code: number): number {
  switch (code) {
    case DisconnectCode.Shutdown:
      return MqttReason.ServerShuttingDown;
    case DisconnectCode.Slow:
      return MqttReason.QuotaExceeded;
    case DisconnectCode.BadRequest:
      return MqttReason.ProtocolError;
    case DisconnectCode.InvalidToken:
    case DisconnectCode.Expired:
      return MqttReason.NotAuthorized;
    case DisconnectCode.ConnectionLimit:
      return MqttReason.QuotaExceeded;
    default:
      return MqttReason.UnspecifiedError;
  }
}

/** The MQTT 5 SUBACK reason for a Tidings reply error code (SUBACK allows fewer codes, §3.9.3). */
export function subackReasonForError(code: number | undefined): number {
  const reason = reasonForError(code);
  if (reason === MqttReason.TopicNameInvalid) return MqttReason.TopicFilterInvalid;
  if (reason === MqttReason.BadUserNameOrPassword) return MqttReason.NotAuthorized;
  return reason;
}
