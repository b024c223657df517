// The client a request's address stands for: an IPv4 address, or the /56 an IPv6 address lies in (what one subscriber is given).
import { isIPv4, isIPv6 } from 'node:net';

/** The IPv6 prefix counted as one client: the rate limiters' (express-rate-limit's default) too. */
const IPV6_PREFIX_BITS = 56;

/**
 * The key of the client behind `address`: an IPv4 address as it is (an IPv4-mapped IPv6 one,
 * `::ffff:127.0.0.2`, as its IPv4 form), an IPv6 address as its /56 (`2001:db8:1:200::/56`), since
 * whoever has one address of a /64 or /56 has them all; anything else as it is.
 */
export function clientKey(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const words = ipv6Words(address);
  if (!words) return address;
  if (words.slice(0, 5).every((word) => word === 0) && words[5] === 0xffff) {
    return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.');
  }
  const kept = words.map((word, i) => {
    const bits = Math.max(0, Math.min(16, IPV6_PREFIX_BITS - i * 16));
    return bits === 0 ? 0 : word & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${kept.slice(0, Math.ceil(IPV6_PREFIX_BITS / 16)).map((word) => word.toString(16)).join(':')}::/${IPV6_PREFIX_BITS}`;
}

/** The eight 16-bit words of a valid IPv6 address (zone dropped, embedded IPv4 read), or null. */
function ipv6Words(address: string): number[] | null {
  let text = address.split('%')[0]!;
  const embedded = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (embedded) {
    const [a, b, c, d] = embedded.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const words = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((word) => parseInt(word, 16));
  return words.length === 8 && words.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffff) ? words : null;
}
