import { describe, expect, it } from 'vitest';
import { formatEndpoint, formatIPv4, Ipv4EndpointText } from '../../src/core/address.js';

describe('Ipv4EndpointText', () => {
  it('makes the strings formatIPv4 and formatEndpoint make, for every digit count of each byte and of the port', () => {
    const text = new Ipv4EndpointText();
    const bytes = [0, 1, 9, 10, 42, 99, 100, 199, 200, 255];
    const ports = [0, 7, 10, 99, 100, 999, 1000, 5060, 9999, 10000, 44166, 65535];
    const a = new Uint8Array(6);
    let n = 0;
    for (const b0 of bytes)
      for (const b1 of [0, 99, 255])
        for (const b3 of bytes)
          for (const port of ports) {
            a.set([7, b0, b1, 2, b3, 7]);
            text.format(a, 1, port);
            const ip = formatIPv4(a, 1);
            expect(text.ip).toBe(ip);
            expect(text.endpoint).toBe(formatEndpoint(ip, port));
            n++;
          }
    expect(n).toBe(bytes.length * 3 * bytes.length * ports.length);
  });

  it('gives new strings each time: a later format does not change the earlier ones', () => {
    const text = new Ipv4EndpointText();
    text.format(Uint8Array.of(192, 0, 2, 1), 0, 5060);
    const first = text.endpoint;
    text.format(Uint8Array.of(203, 0, 113, 250), 0, 65535);
    expect(first).toBe('192.0.2.1:5060');
    expect(text.endpoint).toBe('203.0.113.250:65535');
    expect(text.ip).toBe('203.0.113.250');
  });
});
