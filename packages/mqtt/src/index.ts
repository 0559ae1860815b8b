/**
 * @tidings/mqtt: the MQTT 3.1.1 / 5.0 edge of a Tidings node. Devices and every MQTT client on
 * the same channels, permissions and history as WebSocket, SSE and the HTTP API.
 */
export { apiKeyLoginHeader, apiKeyUserName, withApiKeyLogin } from './api-key-login.js';
export { createMqttEdge, MqttEdge, type MqttEdgeOptions, type MqttTlsOptions } from './mqtt-edge.js';
export { defaultMqttOptions, type MqttOptions, resolveMqttOptions } from './mqtt-options.js';
export { createMqttWebSocketHandler, type MqttWebSocketHandler, type MqttWebSocketOptions } from './mqtt-websocket.js';
export { ConnackCode311, MqttReason } from './reason-codes.js';
export {
  isWildcardFilter,
  TopicMapping,
  type TopicMappingOptions,
  type TopicMapResult,
  type TopicRefusal,
} from './topic-mapping.js';
