import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeTargets, sippHint, suggestedUasPort } from '../../renderer/src/calls/sippHint';

const texts = (proxy: string, route: string) => sippHint(proxy, route).commands.map((c) => `${c.role}: ${c.text}`);

test('with --route the UAS listens on the route target and the UAC sends to the proxy', () => {
  assert.equal(sippHint('127.0.0.1:5060', '127.0.0.1:5090').mode, 'route');
  assert.deepEqual(texts('127.0.0.1:5060', '127.0.0.1:5090'), ['uas: sipp -sn uas -i 127.0.0.1 -p 5090', 'uac: sipp -sn uac 127.0.0.1:5060 -r 10']);
});

test('without --route the UAC names the UAS in its Request-URI and sends to the proxy with -rsa, so routing by Request-URI reaches the UAS, not the proxy itself', () => {
  assert.equal(sippHint('127.0.0.1:5060', '').mode, 'request-uri');
  assert.deepEqual(texts('127.0.0.1:5060', ''), ['uas: sipp -sn uas -i 127.0.0.1 -p 5090', 'uac: sipp -sn uac 127.0.0.1:5090 -rsa 127.0.0.1:5060 -r 10']);
});

test('the suggested UAS port is 30 above the proxy, or 30 below when that would pass 65535', () => {
  assert.equal(suggestedUasPort(5060), 5090);
  assert.equal(suggestedUasPort(65535), 65505);
  assert.equal(suggestedUasPort(65505), 65535);
});

test('every route target gets a UAS line (TCP ones with -t t1), then one UAC', () => {
  assert.deepEqual(texts('10.0.0.1:5060', '10.0.0.2:5090,10.0.0.3:5070/tcp'), [
    'uas: sipp -sn uas -i 10.0.0.2 -p 5090',
    'uas: sipp -sn uas -i 10.0.0.3 -p 5070 -t t1',
    'uac: sipp -sn uac 10.0.0.1:5060 -r 10',
  ]);
});

test('a proxy on a wildcard address is reached on loopback; IPv6 keeps its brackets in HOST:PORT and loses them after -i', () => {
  assert.deepEqual(texts('0.0.0.0:5060', ''), ['uas: sipp -sn uas -i 127.0.0.1 -p 5090', 'uac: sipp -sn uac 127.0.0.1:5090 -rsa 127.0.0.1:5060 -r 10']);
  assert.deepEqual(texts('[::]:5060', '[::1]:5090/udp'), ['uas: sipp -sn uas -i ::1 -p 5090', 'uac: sipp -sn uac [::1]:5060 -r 10']);
});

test('route targets parse as the settings carry them; malformed entries are left out', () => {
  assert.deepEqual(routeTargets(''), []);
  assert.deepEqual(routeTargets('127.0.0.1:5090/TCP, nonsense ,127.0.0.1:0'), [{ host: '127.0.0.1', port: 5090, tcp: true }]);
});
