// Load process of bench/mqtt-fanout.mjs: opens N raw MQTT 3.1.1 subscribers (mqtt-packet, QoS 0)
// to one topic, from source address 127.0.0.<k>, and reports receptions with their latency.
// Protocol on stdin/stdout (one JSON object a line): → {"ready":n} when all SUBACKs arrived;
// ← "report" → {"received":…, "latencies":[ms…]} (a sample), then exits on "exit".
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';

const [port, count, topic, source] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  process.argv[4],
  process.argv[5],
];
let received = 0;
let subacked = 0;
const latencies = [];
const now = () => performance.timeOrigin + performance.now();

for (let i = 0; i < count; i++) {
  const socket = connect({ port, host: '127.0.0.1', localAddress: source });
  const parser = mqttPacket.parser();
  parser.on('packet', (p) => {
    if (p.cmd === 'connack') {
      socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
    } else if (p.cmd === 'suback') {
      if (++subacked === count) process.stdout.write(`${JSON.stringify({ ready: count })}\n`);
    } else if (p.cmd === 'publish') {
      received++;
      // One in 16 receptions is sampled: the payload starts with the send time (ms, fractional).
      if ((received & 15) === 0) latencies.push(now() - Number(p.payload.toString().split(' ', 1)[0]));
    }
  });
  socket.on('data', (d) => parser.parse(d));
  socket.on('error', () => {});
  socket.on('connect', () =>
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        clientId: `s${source}-${i}`,
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
      }),
    ),
  );
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
}

let input = '';
process.stdin.on('data', (d) => {
  input += d.toString();
  for (let nl = input.indexOf('\n'); nl >= 0; nl = input.indexOf('\n')) {
    const line = input.slice(0, nl);
    input = input.slice(nl + 1);
    if (line === 'report') process.stdout.write(`${JSON.stringify({ received, latencies })}\n`);
    if (line === 'exit') process.exit(0);
  }
});
