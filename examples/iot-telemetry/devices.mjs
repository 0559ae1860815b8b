// Simulated devices: each is a real MQTT 5 client (MQTT.js) that publishes a JSON reading to
// `telemetry/<device>` at QoS 1 every `intervalMs`; the broker acknowledges only once stored.
import mqtt from 'mqtt';

/** Connects `count` devices to `url` with `token` as the MQTT password; `stop()` ends them. */
export async function startDevices({ url, token, count, intervalMs }) {
  const clients = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      mqtt.connectAsync(url, {
        protocolVersion: 5,
        clientId: `dev-${i + 1}`,
        username: `dev-${i + 1}`,
        password: token,
      }),
    ),
  );
  const state = clients.map((_, i) => ({ tempC: 20 + i, humidity: 40 + 5 * i }));
  let seq = 0;
  const timer = setInterval(() => {
    seq++;
    clients.forEach((client, i) => {
      const s = state[i];
      // A random walk stands in for a sensor.
      s.tempC = Math.round((s.tempC + (Math.random() - 0.5) * 0.6) * 10) / 10;
      s.humidity = Math.round(Math.min(100, Math.max(0, s.humidity + (Math.random() - 0.5) * 2)) * 10) / 10;
      const reading = { device: `dev-${i + 1}`, seq, at: Date.now(), ...s };
      client.publishAsync(`telemetry/dev-${i + 1}`, JSON.stringify(reading), { qos: 1 }).catch(() => {});
    });
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(clients.map((c) => c.endAsync()));
    },
  };
}
