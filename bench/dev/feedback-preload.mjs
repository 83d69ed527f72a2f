// Preloaded by feedback-diff.mjs (node --allow-natives-syntax --import): on SIGUSR2, prints V8's
// view (%DebugPrint: code tier and feedback vector) of the Node internals a request runs through,
// to this process's stdout (which feedback-diff.mjs points at a file: %DebugPrint writes through
// C stdio). Reached: process.nextTick, the methods of EventEmitter, the stream classes, net.Socket
// and the http classes, and the listeners and HTTP parser callbacks of the sockets open at the
// signal (so the dump is taken while a load generator keeps connections open). Node's
// module-private functions (onwrite, resOnFinish when not a listener, ...) are not reachable.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import stream from 'node:stream';

function reachable() {
  const fns = new Map();
  const add = (label, f) => {
    if (typeof f === 'function' && !fns.has(f)) fns.set(f, label);
  };
  const methods = (label, proto) => {
    for (const key of Reflect.ownKeys(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, key);
      add(`${label}.${String(key)}`, d.value);
      add(`${label}.get ${String(key)}`, d.get);
      add(`${label}.set ${String(key)}`, d.set);
    }
  };
  const listeners = (label, emitter) => {
    for (const e of emitter.eventNames()) for (const l of emitter.rawListeners(e)) add(`${label}.on(${String(e)})`, l);
  };
  add('process.nextTick', process.nextTick);
  methods('EventEmitter', EventEmitter.prototype);
  methods('Readable', stream.Readable.prototype);
  methods('Writable', stream.Writable.prototype);
  methods('Duplex', stream.Duplex.prototype);
  methods('net.Socket', net.Socket.prototype);
  methods('net.Server', net.Server.prototype);
  methods('IncomingMessage', http.IncomingMessage.prototype);
  methods('OutgoingMessage', http.OutgoingMessage.prototype);
  methods('ServerResponse', http.ServerResponse.prototype);
  methods('http.Server', http.Server.prototype);
  for (const h of process._getActiveHandles()) {
    if (h instanceof net.Socket) {
      listeners('socket', h);
      // HTTPParser callbacks live at small integer keys (kOnHeadersComplete, kOnBody, ...).
      if (h.parser) for (let i = 0; i < 8; i++) add(`parser[${i}]`, h.parser[i]);
      if (h._httpMessage) listeners('res', h._httpMessage);
      if (h._httpMessage?.req) listeners('req', h._httpMessage.req);
    } else if (h instanceof net.Server) listeners('server', h);
  }
  return fns;
}

process.on('SIGUSR2', () => {
  for (const [f, label] of reachable()) {
    %DebugPrint(`### ${label}`);
    %DebugPrint(f);
  }
  %DebugPrint('### END');
});
