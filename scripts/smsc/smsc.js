#!/usr/bin/env node
// A small SMSC (carrier sandbox) for development and tests, written on the npm `smpp` package so the
// SMPP connector (messaging/carriers/smpp.py, on Python's smpplib) is tested against an independent
// implementation. It binds transceivers, answers submit_sm with a unique message_id, sends delivery
// receipts, injects mobile-originated messages and counts everything; an HTTP control port serves
// tests and demos (see docs/messaging-carriers.md). Nothing is reassembled: every submit_sm is logged
// as it came, with its UDH.
//
//   node scripts/smsc/smsc.js --port 2775 --http-port 2780 --system-id switchboard --password secret
//
// --port/--http-port 0 pick free ports; the first line printed is
// {"event":"listening","smpp_port":…,"http_port":…}. Every later line is one JSON event.
'use strict';

const crypto = require('crypto');
const http = require('http');
const { parseArgs } = require('util');
const smpp = require('smpp');

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '2775' },
    'http-port': { type: 'string', default: '2780' },
    'system-id': { type: 'string', default: 'switchboard' },
    password: { type: 'string', default: 'secret' },
    'submit-delay-ms': { type: 'string', default: '0' }, // before each submit_sm_resp
    'dlr-delay-ms': { type: 'string', default: '50' }, // from submit_sm_resp to its receipt
    'dlr-format': { type: 'string', default: 'both' }, // both | text | tlv
    'dlr-status': { type: 'string', multiple: true, default: [] }, // DEST=STAT[:ERR], e.g. 15550001=UNDELIV:005
    refuse: { type: 'string', multiple: true, default: [] }, // DEST=STATUS, e.g. 15550002=ESME_RINVDSTADR
    throughput: { type: 'string', default: '0' }, // submit_sm accepted per second; 0 = no limit
    'enquire-link-ms': { type: 'string', default: '0' }, // the SMSC's own enquire_link period; 0 = never
    quiet: { type: 'boolean', default: false }, // no line per PDU
  },
});

const SUBMIT_DELAY_MS = Number(opts['submit-delay-ms']);
const DLR_DELAY_MS = Number(opts['dlr-delay-ms']);
const DLR_FORMAT = opts['dlr-format'];
const THROUGHPUT = Number(opts.throughput);
const ENQUIRE_LINK_MS = Number(opts['enquire-link-ms']);
const REDELIVER_MS = 1000; // a deliver_sm answered with an error is offered again after this
if (!['both', 'text', 'tlv'].includes(DLR_FORMAT)) fail(`--dlr-format must be both, text or tlv`);

// message_state values (SMPP 3.4, 5.3.2.35) for each receipt `stat:`.
const MESSAGE_STATE = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

function fail(message) {
  process.stderr.write(`smsc: ${message}\n`);
  process.exit(2);
}

function byDestination(rules, parse) {
  const map = new Map();
  for (const rule of rules) {
    const at = rule.indexOf('=');
    if (at < 1) fail(`expected DEST=VALUE, got ${rule}`);
    map.set(rule.slice(0, at).replace(/^\+/, ''), parse(rule.slice(at + 1)));
  }
  return map;
}

const REFUSE = byDestination(opts.refuse, (value) => {
  const status = /^\d+$/.test(value) ? Number(value) : smpp.errors[value];
  if (status === undefined) fail(`unknown command_status ${value}`);
  return status;
});
const DLR_STATUS = byDestination(opts['dlr-status'], (value) => {
  const [stat, err = stat === 'DELIVRD' ? '000' : '001'] = value.split(':');
  if (!(stat in MESSAGE_STATE)) fail(`unknown receipt stat ${stat}`);
  return { stat, err: err.padStart(3, '0') };
});

function log(event, fields) {
  if (opts.quiet && !['listening', 'bind', 'bind_failed', 'closed'].includes(event)) return;
  process.stdout.write(JSON.stringify({ event, at: new Date().toISOString(), ...fields }) + '\n');
}

// --- state ----------------------------------------------------------------------------------------
const idPrefix = crypto.randomBytes(4).toString('hex');
let nextId = 0;
let nextMoRef = crypto.randomInt(256);
let submissions = [];
let stats;
const deliveries = []; // deliver_sm waiting for a bound session: {kind, pdu}
let downUntil = 0; // POST /drop?down_ms=…: connections are refused until then
let bucket = { tokens: THROUGHPUT, at: Date.now() };

function resetStats() {
  stats = {
    submit_sm: 0, accepted: 0, throttled: 0, refused: 0,
    dlr_sent: 0, dlr_acked: 0, mo_sent: 0, mo_acked: 0, deliver_sm_nacked: 0,
    binds: 0, bind_failures: 0, connections_refused: 0, unbinds: 0,
    enquire_link_received: 0, enquire_link_sent: 0, enquire_link_resp_received: 0,
    max_outstanding: 0, generic_nack_sent: 0,
  };
}
resetStats();

const sessions = new Set(); // bound sessions

// --- text helpers (the npm smpp package's own GSM 03.38, Latin-1 and UCS-2 coders) ------------------
const CODINGS = { gsm: [0x00, smpp.encodings.ASCII], latin1: [0x03, smpp.encodings.LATIN1], ucs2: [0x08, smpp.encodings.UCS2] };

function codecFor(dataCoding) {
  const dc = dataCoding & 0x0f;
  if (dc === 0x08) return smpp.encodings.UCS2;
  if (dc === 0x03) return smpp.encodings.LATIN1;
  return smpp.encodings.ASCII;
}

// The concatenation information element of a UDH (8-bit or 16-bit reference), or null.
function parseUdh(buffer) {
  const length = buffer[0];
  const udh = { ref: null, total: null, part: null, hex: buffer.subarray(0, length + 1).toString('hex') };
  for (let at = 1; at + 1 < length + 1; at += 2 + buffer[at + 1]) {
    const iei = buffer[at];
    if (iei === 0x00) Object.assign(udh, { ref: buffer[at + 2], total: buffer[at + 3], part: buffer[at + 4] });
    if (iei === 0x08) {
      Object.assign(udh, { ref: buffer.readUInt16BE(at + 2), total: buffer[at + 4], part: buffer[at + 5] });
    }
  }
  return udh;
}

function addressOf(text) {
  const number = String(text || '');
  if (/^\+?\d+$/.test(number)) return { addr: number.replace(/^\+/, ''), ton: 1, npi: 1 };
  return { addr: number, ton: 5, npi: 0 };
}

function smppTime(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return pad(date.getUTCFullYear() % 100) + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) +
    pad(date.getUTCHours()) + pad(date.getUTCMinutes());
}

// The text, split for concatenation: GSM 7-bit never leaves an escape at the end of a part, UCS-2
// never splits a surrogate pair.
function splitEncoded(bytes, coding, partOctets) {
  const parts = [];
  let at = 0;
  while (at < bytes.length) {
    let end = Math.min(at + partOctets, bytes.length);
    if (end < bytes.length) {
      if (coding === 'gsm' && bytes[end - 1] === 0x1b) end -= 1;
      if (coding === 'ucs2' && bytes[end - 2] >= 0xd8 && bytes[end - 2] <= 0xdb) end -= 2;
    }
    parts.push(bytes.subarray(at, end));
    at = end;
  }
  return parts;
}

// --- deliveries (receipts and MO messages) --------------------------------------------------------
function deliver(item) {
  deliveries.push(item);
  flushDeliveries();
}

function flushDeliveries() {
  const session = [...sessions][0];
  if (!session) return;
  while (deliveries.length) {
    const item = deliveries.shift();
    const pdu = new smpp.PDU('deliver_sm', { ...item.fields });
    const sent = session.send(pdu, (resp) => {
      session.unacked.delete(pdu.sequence_number);
      if (resp.command_status === 0) {
        stats[item.kind === 'dlr' ? 'dlr_acked' : 'mo_acked'] += 1;
        log('deliver_sm_resp', { kind: item.kind, sequence: pdu.sequence_number });
      } else {
        stats.deliver_sm_nacked += 1;
        log('deliver_sm_nacked', { kind: item.kind, command_status: resp.command_status });
        setTimeout(() => deliver(item), REDELIVER_MS);
      }
    });
    if (!sent) {
      deliveries.unshift(item);
      return;
    }
    session.unacked.set(pdu.sequence_number, item);
    stats[item.kind === 'dlr' ? 'dlr_sent' : 'mo_sent'] += 1;
    log('deliver_sm', { kind: item.kind, sequence: pdu.sequence_number, ...item.summary });
  }
}

function receiptFor(record) {
  const rule = DLR_STATUS.get(record.destination_addr) || { stat: 'DELIVRD', err: '000' };
  const submitted = new Date(record.received_at);
  const fields = {
    source_addr_ton: record.dest_addr_ton, source_addr_npi: record.dest_addr_npi,
    source_addr: record.destination_addr,
    dest_addr_ton: record.source_addr_ton, dest_addr_npi: record.source_addr_npi,
    destination_addr: record.source_addr,
    esm_class: 0x04,
    data_coding: 0x00,
  };
  if (DLR_FORMAT !== 'tlv') {
    const excerpt = record.text.slice(0, 20).replace(/[^\x20-\x7e]/g, '?');
    const text = `id:${record.message_id} sub:001 dlvrd:${rule.stat === 'DELIVRD' ? '001' : '000'} ` +
      `submit date:${smppTime(submitted)} done date:${smppTime(new Date())} stat:${rule.stat} ` +
      `err:${rule.err} text:${excerpt}`;
    fields.short_message = Buffer.from(text, 'ascii');
  }
  if (DLR_FORMAT !== 'text') {
    fields.receipted_message_id = record.message_id;
    fields.message_state = MESSAGE_STATE[rule.stat];
  }
  return { kind: 'dlr', fields, summary: { message_id: record.message_id, stat: rule.stat } };
}

function injectMo({ from, to, text, coding, concat, part_octets: partOctets, payload }) {
  if (!from || !to || typeof text !== 'string') throw new Error('from, to and text are required');
  coding = coding || (smpp.encodings.ASCII.match(text) ? 'gsm' : 'ucs2');
  if (!(coding in CODINGS)) throw new Error(`coding must be one of ${Object.keys(CODINGS)}`);
  const [dataCoding, codec] = CODINGS[coding];
  const bytes = codec.encode(text);
  const source = addressOf(from);
  const destination = addressOf(to);
  const base = {
    source_addr_ton: source.ton, source_addr_npi: source.npi, source_addr: source.addr,
    dest_addr_ton: destination.ton, dest_addr_npi: destination.npi, destination_addr: destination.addr,
    data_coding: dataCoding,
  };
  let bodies = [bytes];
  if (concat || partOctets) {
    bodies = splitEncoded(bytes, coding, Number(partOctets) || (coding === 'gsm' ? 153 : 134));
  }
  if (bodies.length > 1) {
    const ref = nextMoRef;
    nextMoRef = (nextMoRef + 1) % 256;
    bodies = bodies.map((body, i) => Buffer.concat([Buffer.from([5, 0, 3, ref, bodies.length, i + 1]), body]));
  }
  bodies.forEach((body, i) => {
    const fields = { ...base, esm_class: bodies.length > 1 ? 0x40 : 0x00 };
    if (payload) fields.message_payload = body;
    else fields.short_message = body;
    deliver({ kind: 'mo', fields, summary: { from, to, part: i + 1, parts: bodies.length, coding } });
  });
  return bodies.length;
}

// --- SMPP ------------------------------------------------------------------------------------------
// Keep submit_sm bodies as bytes: the SMSC decodes them itself, so the log shows the raw UDH too.
delete smpp.commands.submit_sm.params.short_message.filter;
delete smpp.tlvs.message_payload.filter;

function takeToken() {
  if (!THROUGHPUT) return true;
  const now = Date.now();
  bucket.tokens = Math.min(THROUGHPUT, bucket.tokens + ((now - bucket.at) / 1000) * THROUGHPUT);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

function onSubmit(session, pdu) {
  stats.submit_sm += 1;
  const raw = pdu.short_message && pdu.short_message.length ? pdu.short_message : pdu.message_payload;
  const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  const udh = pdu.esm_class & 0x40 && body.length ? parseUdh(body) : null;
  const userData = udh ? body.subarray(body[0] + 1) : body;
  const record = {
    index: submissions.length,
    session: session.id,
    sequence: pdu.sequence_number,
    source_addr: pdu.source_addr, source_addr_ton: pdu.source_addr_ton, source_addr_npi: pdu.source_addr_npi,
    destination_addr: pdu.destination_addr, dest_addr_ton: pdu.dest_addr_ton, dest_addr_npi: pdu.dest_addr_npi,
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    registered_delivery: pdu.registered_delivery,
    validity_period: pdu.validity_period instanceof Date ? pdu.validity_period.toISOString() : pdu.validity_period || null,
    in_payload: !(pdu.short_message && pdu.short_message.length),
    hex: body.toString('hex'),
    udh,
    user_data_octets: userData.length,
    text: codecFor(pdu.data_coding).decode(userData),
    received_at: new Date().toISOString(),
    command_status: 0,
    message_id: null,
  };
  let status = REFUSE.get(pdu.destination_addr) || 0;
  if (!status && !takeToken()) status = smpp.errors.ESME_RTHROTTLED;
  if (status === smpp.errors.ESME_RTHROTTLED) stats.throttled += 1;
  else if (status) stats.refused += 1;
  else {
    stats.accepted += 1;
    record.message_id = idPrefix + (nextId++).toString(16).padStart(6, '0');
  }
  record.command_status = status;
  submissions.push(record);
  log('submit_sm', record);

  session.outstanding += 1;
  stats.max_outstanding = Math.max(stats.max_outstanding, session.outstanding);
  const respond = () => {
    session.outstanding -= 1;
    if (!session.bound) return; // dropped meanwhile: the client never learns the id (and resends)
    session.send(pdu.response(status ? { command_status: status } : { message_id: record.message_id }));
    if (!status && pdu.registered_delivery & 0x03) {
      const failed = (DLR_STATUS.get(record.destination_addr) || { stat: 'DELIVRD' }).stat !== 'DELIVRD';
      // registered_delivery 2 asks for receipts of failures only
      if ((pdu.registered_delivery & 0x03) === 1 || failed) {
        setTimeout(() => deliver(receiptFor(record)), DLR_DELAY_MS);
      }
    }
  };
  if (SUBMIT_DELAY_MS > 0) setTimeout(respond, SUBMIT_DELAY_MS);
  else respond();
}

let nextSessionId = 1;
const server = smpp.createServer({ noDelay: true }, (session) => {
  session.id = nextSessionId++;
  session.bound = false;
  session.outstanding = 0;
  session.unacked = new Map();
  if (Date.now() < downUntil) {
    stats.connections_refused += 1;
    session.destroy();
    return;
  }
  log('connected', { session: session.id });

  session.on('bind_transceiver', (pdu) => {
    if (session.bound) {
      session.send(pdu.response({ command_status: smpp.errors.ESME_RALYBND }));
      return;
    }
    if (pdu.system_id !== opts['system-id'] || pdu.password !== opts.password) {
      stats.bind_failures += 1;
      log('bind_failed', { session: session.id, system_id: pdu.system_id });
      session.send(pdu.response({ command_status: smpp.errors.ESME_RBINDFAIL }));
      session.close();
      return;
    }
    session.bound = true;
    sessions.add(session);
    stats.binds += 1;
    log('bind', { session: session.id, system_id: pdu.system_id });
    session.send(pdu.response({ system_id: 'switchboard-smsc' }));
    if (ENQUIRE_LINK_MS > 0) {
      session.enquirer = setInterval(() => {
        stats.enquire_link_sent += 1;
        session.enquire_link({}, () => { stats.enquire_link_resp_received += 1; });
      }, ENQUIRE_LINK_MS);
    }
    flushDeliveries();
  });
  for (const other of ['bind_transmitter', 'bind_receiver']) {
    session.on(other, (pdu) => {
      stats.bind_failures += 1;
      log('bind_failed', { session: session.id, reason: `${other} (only bind_transceiver is served)` });
      session.send(pdu.response({ command_status: smpp.errors.ESME_RBINDFAIL }));
      session.close();
    });
  }
  session.on('submit_sm', (pdu) => {
    if (!session.bound) {
      session.send(pdu.response({ command_status: smpp.errors.ESME_RINVBNDSTS }));
      return;
    }
    onSubmit(session, pdu);
  });
  session.on('enquire_link', (pdu) => {
    stats.enquire_link_received += 1;
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    stats.unbinds += 1;
    session.send(pdu.response());
    session.close();
  });
  session.on('unknown', (pdu) => {
    stats.generic_nack_sent += 1;
    session.send(pdu.response());
  });
  session.on('error', (error) => log('session_error', { session: session.id, error: String(error) }));
  session.on('close', () => {
    clearInterval(session.enquirer);
    session.bound = false;
    sessions.delete(session);
    // deliver_sm the client never answered go to the next bind (at least once, as SMSCs do)
    deliveries.unshift(...session.unacked.values());
    session.unacked.clear();
    log('closed', { session: session.id });
    flushDeliveries();
  });
});

// --- HTTP control port ----------------------------------------------------------------------------
function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch (error) {
        reject(error);
      }
    });
  });
}

const control = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://smsc');
  const route = `${req.method} ${url.pathname}`;
  try {
    if (route === 'GET /submissions') return reply(res, 200, submissions);
    if (route === 'GET /stats') {
      return reply(res, 200, { ...stats, sessions_bound: sessions.size, deliveries_waiting: deliveries.length });
    }
    if (route === 'POST /mo') return reply(res, 202, { parts: injectMo(await readJson(req)) });
    if (route === 'POST /reset') {
      submissions = [];
      deliveries.length = 0;
      resetStats();
      bucket = { tokens: THROUGHPUT, at: Date.now() };
      return reply(res, 200, { reset: true });
    }
    if (route === 'POST /drop') {
      downUntil = Date.now() + Number(url.searchParams.get('down_ms') || 0);
      const dropped = sessions.size;
      for (const session of server.sessions) session.destroy();
      log('drop', { dropped, down_ms: Number(url.searchParams.get('down_ms') || 0) });
      return reply(res, 200, { dropped });
    }
    return reply(res, 404, { error: `no route ${route}` });
  } catch (error) {
    return reply(res, 400, { error: String(error.message || error) });
  }
});

server.on('error', (error) => fail(`SMPP port: ${error.message}`));
control.on('error', (error) => fail(`HTTP port: ${error.message}`));
server.listen(Number(opts.port), opts.host, () => {
  control.listen(Number(opts['http-port']), opts.host, () => {
    log('listening', { smpp_port: server.address().port, http_port: control.address().port, host: opts.host });
  });
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const session of server.sessions) session.destroy();
    process.exit(0);
  });
}
