import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { AdminApiError, api, type ChannelDetail, type Sample, type Stats } from './api.js';
import { Chart, type Series } from './chart.js';
import './style.css';

const keepSamples = 300;

function errorText(error: unknown): string {
  if (error instanceof AdminApiError) return `${error.code}: ${error.message}`;
  return String(error);
}

function Login(props: { onLoggedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api.login(password);
      props.onLoggedIn();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <main class="login">
      <h1>Tidings admin</h1>
      <form id="login" onSubmit={submit}>
        <label>
          Admin password
          <input
            id="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Log in</button>
        {error !== undefined && (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

/** Union of the keys of one field over all samples, sorted. */
function keysOf(samples: readonly Sample[], pick: (s: Sample) => object): string[] {
  const keys = new Set<string>();
  for (const s of samples) for (const k of Object.keys(pick(s))) keys.add(k);
  return [...keys].sort();
}

function Charts(props: { samples: readonly Sample[] }) {
  const { samples } = props;
  const times = samples.map((s) => s.t / 1000);
  const transports = keysOf(samples, (s) => s.connections);
  const delivering = keysOf(samples, (s) => s.deliveriesPerSec);
  const connections: Series[] = [
    { label: 'total', values: samples.map((s) => Object.values(s.connections).reduce((a, b) => a + b, 0)) },
    ...transports.map((t) => ({ label: t, values: samples.map((s) => s.connections[t] ?? 0) })),
  ];
  const publications: Series[] = [{ label: 'publications/s', values: samples.map((s) => s.publicationsPerSec) }];
  const deliveries: Series[] = delivering.map((t) => ({
    label: t,
    values: samples.map((s) => s.deliveriesPerSec[t] ?? 0),
  }));
  const latency: Series[] = delivering.flatMap((t) => [
    { label: `${t} p50`, values: samples.map((s) => s.latencyMs[t]?.p50 ?? null) },
    { label: `${t} p99`, values: samples.map((s) => s.latencyMs[t]?.p99 ?? null) },
  ]);
  return (
    <div class="charts">
      <Chart name="connections" title="Connections" times={times} series={connections} />
      <Chart name="publications" title="Publications / s" times={times} series={publications} />
      <Chart name="deliveries" title="Deliveries / s by transport" times={times} series={deliveries} />
      <Chart name="latency" title="Delivery latency p50 / p99 (ms)" times={times} series={latency} unit=" ms" />
    </div>
  );
}

function Nodes(props: { stats: Stats }) {
  const { stats } = props;
  return (
    <section class="panel">
      <h2>Nodes ({stats.nodes.length})</h2>
      <table id="nodes">
        <thead>
          <tr>
            <th>name</th>
            <th>version</th>
            <th>clients</th>
            <th>users</th>
            <th>channels</th>
            <th>subscriptions</th>
            <th>uptime</th>
          </tr>
        </thead>
        <tbody>
          {stats.nodes.map((n) => (
            <tr key={n.id} data-node={n.name} class={n.id === stats.node.id ? 'self' : ''}>
              <td>
                {n.name}
                {n.id === stats.node.id ? ' (this node)' : ''}
              </td>
              <td>{n.version}</td>
              <td>{n.numClients}</td>
              <td>{n.numUsers}</td>
              <td>{n.numChannels}</td>
              <td>{n.numSubs}</td>
              <td>{n.uptimeSeconds} s</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Channels(props: { onPick: (channel: string) => void }) {
  const [pattern, setPattern] = useState('');
  const [channels, setChannels] = useState<Array<{ channel: string; numClients: number }>>([]);
  const [detail, setDetail] = useState<ChannelDetail | undefined>();
  const [error, setError] = useState<string | undefined>();
  const refresh = useCallback(async () => {
    try {
      setChannels((await api.channels(pattern)).channels);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [pattern]);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), 3000);
    return () => clearInterval(timer);
  }, [refresh]);
  const open = async (channel: string) => {
    props.onPick(channel);
    try {
      setDetail(await api.channel(channel));
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section class="panel">
      <h2>Channels</h2>
      <input
        id="channel-pattern"
        placeholder="filter, e.g. demo:*"
        value={pattern}
        onInput={(e) => setPattern((e.target as HTMLInputElement).value)}
      />
      <ul id="channels">
        {channels.map((c) => (
          <li key={c.channel}>
            <button type="button" class="link" onClick={() => void open(c.channel)}>
              {c.channel}
            </button>{' '}
            · {c.numClients} subscribers here
          </li>
        ))}
        {channels.length === 0 && <li class="muted">no channel has subscribers on this node</li>}
      </ul>
      {error !== undefined && <p class="error">{error}</p>}
      {detail !== undefined && (
        <div id="channel-detail">
          <h3>{detail.channel}</h3>
          <p>subscribers on this node: {detail.subscribers}</p>
          <h4>Presence</h4>
          {detail.presence === null ? (
            <p class="muted">presence is off for this namespace</p>
          ) : (
            <ul id="presence">
              {detail.presence.map((p) => (
                <li key={p.client}>
                  user <b>{p.user || '(anonymous)'}</b> · client {p.client}
                </li>
              ))}
            </ul>
          )}
          <h4>Recent history</h4>
          {detail.history === null ? (
            <p class="muted">history is off for this namespace</p>
          ) : (
            <ol id="history">
              {detail.history.publications.map((p) => (
                <li key={p.offset}>
                  #{p.offset} {new Date(p.time).toLocaleTimeString()}{' '}
                  <code>{p.b64data !== undefined ? `base64:${p.b64data}` : JSON.stringify(p.data)}</code>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </section>
  );
}

function Publish(props: { channel: string; setChannel: (c: string) => void }) {
  const [data, setData] = useState('{"text":"hello from the admin console"}');
  const [result, setResult] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      value = data;
    }
    try {
      const r = await api.publish(props.channel, value);
      setResult(`published at offset ${r.offset}`);
    } catch (e) {
      setResult(errorText(e));
    }
  };
  return (
    <section class="panel">
      <h2>Publish</h2>
      <form id="publish" onSubmit={submit}>
        <input
          id="publish-channel"
          placeholder="channel"
          value={props.channel}
          onInput={(e) => props.setChannel((e.target as HTMLInputElement).value)}
        />
        <textarea
          id="publish-data"
          rows={3}
          value={data}
          onInput={(e) => setData((e.target as HTMLTextAreaElement).value)}
        />
        <button type="submit">Publish</button>
      </form>
      {result !== undefined && <p id="publish-result">{result}</p>}
    </section>
  );
}

interface TailEvent {
  readonly n: number;
  readonly text: string;
}

function Tail(props: { channel: string; setChannel: (c: string) => void }) {
  const [events, setEvents] = useState<TailEvent[]>([]);
  const [state, setState] = useState('stopped');
  const source = useRef<EventSource | null>(null);
  const counter = useRef(0);
  const stop = () => {
    source.current?.close();
    source.current = null;
    setState('stopped');
  };
  const start = (event: Event) => {
    event.preventDefault();
    stop();
    setEvents([]);
    const es = new EventSource(api.tailUrl(props.channel));
    source.current = es;
    setState('connecting');
    es.addEventListener('connected', () => setState(`tailing ${props.channel}`));
    // Publications are SSE's default event type ("message"); see docs/transports.md.
    es.addEventListener('message', (e) => {
      const text = (e as MessageEvent<string>).data;
      let shown = text;
      try {
        const parsed = JSON.parse(text) as { offset?: number; data?: unknown };
        shown = `#${parsed.offset ?? '?'} ${JSON.stringify(parsed.data)}`;
      } catch {
        // keep the raw text
      }
      counter.current++;
      setEvents((list) => [{ n: counter.current, text: shown }, ...list].slice(0, 200));
    });
    es.addEventListener('error', () => setState(es.readyState === EventSource.CLOSED ? 'refused' : 'reconnecting'));
  };
  useEffect(() => stop, []);
  return (
    <section class="panel">
      <h2>Live tail</h2>
      <form id="tail-form" onSubmit={start}>
        <input
          id="tail-channel"
          placeholder="channel"
          value={props.channel}
          onInput={(e) => props.setChannel((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Tail</button>
        <button type="button" onClick={stop}>
          Stop
        </button>
        <span id="tail-state" class="muted">
          {state}
        </span>
      </form>
      <ol id="tail">
        {events.map((e) => (
          <li key={e.n}>
            <code>{e.text}</code>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Disconnect() {
  const [user, setUser] = useState('');
  const [client, setClient] = useState('');
  const [result, setResult] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api.disconnect(user, client === '' ? undefined : client);
      setResult(`disconnected ${user}${client === '' ? '' : ` (client ${client})`} on this node`);
    } catch (e) {
      setResult(errorText(e));
    }
  };
  return (
    <section class="panel">
      <h2>Disconnect a user</h2>
      <form id="disconnect" onSubmit={submit}>
        <input
          id="disconnect-user"
          placeholder="user id"
          value={user}
          onInput={(e) => setUser((e.target as HTMLInputElement).value)}
        />
        <input
          id="disconnect-client"
          placeholder="client id (optional)"
          value={client}
          onInput={(e) => setClient((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Disconnect (3503)</button>
      </form>
      {result !== undefined && <p id="disconnect-result">{result}</p>}
    </section>
  );
}

function Console(props: { onLoggedOut: () => void }) {
  const [stats, setStats] = useState<Stats | undefined>();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [channel, setChannel] = useState('');
  const last = useRef(0);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const s = await api.stats(last.current);
        if (stopped) return;
        const newest = s.samples[s.samples.length - 1];
        if (newest !== undefined) last.current = newest.t;
        setStats(s);
        setSamples((old) => [...old, ...s.samples].slice(-keepSamples));
        setError(undefined);
      } catch (e) {
        if (e instanceof AdminApiError && e.status === 401) return props.onLoggedOut();
        setError(errorText(e));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  const latest = samples[samples.length - 1];
  const total = latest === undefined ? 0 : Object.values(latest.connections).reduce((a, b) => a + b, 0);
  const logout = async () => {
    await api.logout().catch(() => undefined);
    props.onLoggedOut();
  };
  return (
    <main>
      <header>
        <h1>Tidings admin</h1>
        {stats !== undefined && (
          <span class="muted">
            node {stats.node.name} · {stats.node.version} · engine {stats.engine.type}{' '}
            <span id="engine-state">{stats.engine.ready ? 'ready' : 'unavailable'}</span>
          </span>
        )}
        <button type="button" id="logout" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      {error !== undefined && <p class="error">{error}</p>}
      <div class="cards">
        <div class="card">
          <span class="label">connections</span>
          <span id="stat-connections">{total}</span>
        </div>
        <div class="card">
          <span class="label">subscriptions</span>
          <span id="stat-subscriptions">{latest?.subscriptions ?? 0}</span>
        </div>
        <div class="card">
          <span class="label">publications/s</span>
          <span id="stat-publications">{latest?.publicationsPerSec ?? 0}</span>
        </div>
        <div class="card">
          <span class="label">deliveries/s</span>
          <span id="stat-deliveries">
            {latest === undefined ? 0 : Object.values(latest.deliveriesPerSec).reduce((a, b) => a + b, 0)}
          </span>
        </div>
      </div>
      <Charts samples={samples} />
      {stats !== undefined && <Nodes stats={stats} />}
      <div class="columns">
        <Channels onPick={setChannel} />
        <div>
          <Publish channel={channel} setChannel={setChannel} />
          <Tail channel={channel} setChannel={setChannel} />
          <Disconnect />
        </div>
      </div>
    </main>
  );
}

function App() {
  const [state, setState] = useState<'checking' | 'login' | 'console'>('checking');
  useEffect(() => {
    api.session().then(
      () => setState('console'),
      () => setState('login'),
    );
  }, []);
  if (state === 'checking') return <p class="muted">loading…</p>;
  if (state === 'login') return <Login onLoggedIn={() => setState('console')} />;
  return <Console onLoggedOut={() => setState('login')} />;
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
