// ehfake: a small Azure Event Hubs server (AMQP 1.0, on rhea) that the real
// Go client (azeventhubs/v2) talks to on loopback, for the AKS source's
// tests. It is written on the lines of ../shared/tools/eventhubs-fake, plus
// what those tests need: hubs created per test, events published by the
// test over HTTP on any partition and delivered to receivers already
// attached; owner-level (epoch) receivers that steal a partition from each
// other as Event Hubs does; start positions by offset, sequence number and
// enqueued time; and dropping every connection (a dead network, as the
// client sees it).
//
//   node ehfake.js            (HUB=audit PARTS=0,1 also creates that hub)
//
// It listens on free loopback ports (PORT, CONTROL_PORT to choose) and
// prints one line the test reads:
//   ehfake amqp=PORT control=PORT
//
// Control API (HTTP on the control port):
//   POST /hubs?name=H&partitions=N                   creates hub H (0..N-1)
//   POST /publish?hub=H&partition=P[&time=MS]  body = one event's bytes -> {"seq":N,"offset":"O"}
//   GET  /state?hub=H                                receivers attached, per partition
//   POST /drop                                       closes every AMQP connection
//
// What the real client needs from a server (from the shared fake's notes):
// SASL ANONYMOUS; a 202 answer to the $cbs put-token; source, target and
// settle modes echoed on every attach; management status-code as an AMQP
// int32; partition_ids as an AMQP array of strings. It exits when its
// stdin closes, so it never outlives the test that started it.
'use strict';
const rhea = require('rhea');
const http = require('http');
const t = rhea.types;

// hubs[name]: its partitions, each with its events and attached receivers.
// HUB and PARTS create one at start; tests create their own over HTTP.
const hubs = {};
function addHub(name, ids) {
  if (!hubs[name]) {
    const parts = {};
    for (const p of ids) parts[p] = { events: [], next: 0, receivers: new Set() };
    hubs[name] = { created: Date.now(), ids, parts };
  }
  return hubs[name];
}
if (process.env.HUB) addHub(process.env.HUB, (process.env.PARTS || '0,1').split(','));

function publish(part, body, ts) {
  const seq = part.events.length;
  const offset = String(part.next);
  part.next += body.length;
  part.events.push({ seq, offset, ts: ts || Date.now(), body });
  for (const s of part.receivers) pump(s);
  return { seq, offset };
}

// startIndex reads the receiver's selector filter (the client sends one of
// x-opt-offset, x-opt-sequence-number or x-opt-enqueued-time, with > or >=).
function startIndex(evs, sel) {
  const m = /amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time) (>=|>) '([^']*)'/.exec(sel);
  if (!m) return evs.length;
  const [, key, op, val] = m;
  if (key === 'offset' && val === '@latest') return evs.length;
  if (key === 'offset' && val === '-1') return 0;
  const v = Number(val);
  const of = (e) => (key === 'offset' ? Number(e.offset) : key === 'sequence-number' ? e.seq : e.ts);
  const i = evs.findIndex((e) => (op === '>' ? of(e) > v : of(e) >= v));
  return i < 0 ? evs.length : i;
}

const c = rhea.create_container({ id: 'peregrine-ehfake' });
c.sasl_server_mechanisms.enable_anonymous();
const replyTo = {}; // a client's reply address -> the link to answer on
const connections = new Set();

c.on('connection_open', (ctx) => connections.add(ctx.connection));
c.on('connection_close', (ctx) => connections.delete(ctx.connection));
c.on('disconnected', (ctx) => { connections.delete(ctx.connection); });

// The client's senders (to $cbs and $management): echo what it asked for.
c.on('receiver_open', (ctx) => {
  const ra = ctx.receiver.remote.attach;
  ctx.receiver.set_source(ra.source || {});
  ctx.receiver.set_target(ra.target || {});
  ctx.receiver.local.attach.snd_settle_mode = ra.snd_settle_mode;
  ctx.receiver.local.attach.rcv_settle_mode = ra.rcv_settle_mode;
});

c.on('sender_open', (ctx) => {
  const s = ctx.sender;
  const ra = s.remote.attach;
  const src = s.source && s.source.address;
  const tgt = s.target && s.target.address;
  s.set_target(ra.target || {});
  s.local.attach.snd_settle_mode = ra.snd_settle_mode;
  s.local.attach.rcv_settle_mode = ra.rcv_settle_mode;
  if (src === '$cbs' || src === '$management') {
    replyTo[tgt] = s;
    s.set_source({ address: src });
    return;
  }
  const m = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/i.exec(src || '');
  const hub = m && hubs[m[1]];
  if (!hub || !hub.parts[m[3]]) {
    s.close({ condition: 'amqp:not-found', description: `no entity ${src}` });
    return;
  }
  s.set_source(s.source);
  const part = hub.parts[m[3]];
  const props = ra.properties || {};
  const epoch = props['com.microsoft:epoch'];
  const cg = m[2].toLowerCase();
  // Event Hubs: an owner-level receiver disconnects every receiver of the
  // same consumer group and partition whose level is not higher.
  if (epoch !== undefined) {
    for (const o of part.receivers) {
      if (o._eh.cg === cg && o._eh.epoch !== undefined && o._eh.epoch <= epoch) {
        part.receivers.delete(o);
        o.close({ condition: 'amqp:link:stolen', description: `New receiver with higher epoch of '${epoch}' is created` });
        console.log(`stolen partition=${m[3]} cg=${cg}`);
      }
    }
  }
  const filt = s.source.filter || {};
  const sel = Object.values(filt).map((f) => (f && f.value !== undefined ? f.value : f)).join(' ');
  s._eh = { part, cg, epoch, next: startIndex(part.events, sel), name: props['com.microsoft:receiver-name'] };
  part.receivers.add(s);
  console.log(`attach partition=${m[3]} cg=${cg} epoch=${epoch} selector="${sel}" start=${s._eh.next}`);
});

function forget(ctx) {
  const s = ctx.sender;
  if (s && s._eh) s._eh.part.receivers.delete(s);
}
c.on('sender_close', forget);
c.on('sender_error', forget);
c.on('disconnected', (ctx) => {
  for (const h of Object.values(hubs)) {
    for (const p of Object.values(h.parts)) {
      for (const s of p.receivers) if (s.connection === ctx.connection) p.receivers.delete(s);
    }
  }
});

function pump(s) {
  const st = s._eh;
  if (!st || !s.is_open()) return;
  const evs = st.part.events;
  while (s.sendable() && st.next < evs.length) {
    const e = evs[st.next++];
    s.send({
      body: rhea.message.data_section(e.body),
      message_annotations: {
        'x-opt-sequence-number': t.wrap_long(e.seq),
        'x-opt-offset': e.offset,
        'x-opt-enqueued-time': t.wrap_timestamp(e.ts),
      },
    });
  }
}
c.on('sendable', (ctx) => pump(ctx.sender));

c.on('message', (ctx) => {
  const msg = ctx.message;
  const ap = msg.application_properties || {};
  const tgt = ctx.receiver.target && ctx.receiver.target.address;
  const out = replyTo[msg.reply_to];
  if (!out) return;
  const reply = (code, desc, body) => out.send({
    correlation_id: msg.message_id,
    application_properties: { 'status-code': t.wrap_int(code), 'status-description': desc },
    body,
  });
  if (tgt === '$cbs' && ap.operation === 'put-token') return reply(202, 'Accepted');
  const hub = hubs[ap.name];
  if (tgt === '$management' && ap.operation === 'READ' && hub) {
    if (ap.type === 'com.microsoft:eventhub') {
      return reply(200, 'OK', t.wrap_map({
        name: ap.name, created_at: t.wrap_timestamp(hub.created), partition_count: t.wrap_int(hub.ids.length),
        partition_ids: t.wrap_array(hub.ids, 0xa1), georeplication_factor: t.wrap_int(1),
      }));
    }
    if (ap.type === 'com.microsoft:partition' && hub.parts[ap.partition]) {
      const evs = hub.parts[ap.partition].events;
      const last = evs[evs.length - 1] || { seq: -1, offset: '-1', ts: hub.created };
      return reply(200, 'OK', t.wrap_map({
        name: ap.name, partition: ap.partition, begin_sequence_number: t.wrap_long(0),
        last_enqueued_sequence_number: t.wrap_long(last.seq), last_enqueued_offset: last.offset,
        last_enqueued_time_utc: t.wrap_timestamp(last.ts), is_partition_empty: evs.length === 0,
      }));
    }
  }
  if (tgt === '$management') return reply(404, `no entity ${ap.name}`);
  reply(400, 'unsupported');
});

function control(req, res) {
  const u = new URL(req.url, 'http://x');
  const q = (k) => u.searchParams.get(k);
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    const json = (code, v) => { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
    if (req.method === 'POST' && u.pathname === '/hubs') {
      const n = Number(q('partitions') || 2);
      addHub(q('name'), Array.from({ length: n }, (_, i) => String(i)));
      return json(200, { name: q('name'), partitions: n });
    }
    const hub = hubs[q('hub')];
    if (req.method === 'POST' && u.pathname === '/publish') {
      const part = hub && hub.parts[q('partition') || '0'];
      if (!part) return json(404, { error: `no hub ${q('hub')} partition ${q('partition')}` });
      return json(200, publish(part, Buffer.concat(chunks), Number(q('time') || 0)));
    }
    if (req.method === 'GET' && u.pathname === '/state') {
      if (!hub) return json(404, { error: `no hub ${q('hub')}` });
      const out = {};
      for (const [id, p] of Object.entries(hub.parts)) {
        out[id] = { events: p.events.length, receivers: [...p.receivers].map((s) => ({ cg: s._eh.cg, epoch: s._eh.epoch, name: s._eh.name, next: s._eh.next })) };
      }
      return json(200, out);
    }
    if (req.method === 'POST' && u.pathname === '/drop') {
      const n = connections.size;
      for (const conn of connections) { try { conn.socket.destroy(); } catch (e) { /* already gone */ } }
      connections.clear();
      return json(200, { dropped: n });
    }
    json(404, { error: 'unknown request' });
  });
}

const amqp = c.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 0) });
amqp.on('listening', () => {
  const ctl = http.createServer(control);
  ctl.listen(Number(process.env.CONTROL_PORT || 0), '127.0.0.1', () => {
    console.log(`ehfake amqp=${amqp.address().port} control=${ctl.address().port}`);
  });
});
// The test owns this process: stop with it when its stdin closes.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
