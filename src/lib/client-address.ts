// The client a request's address stands for: an IPv4 address, or the /56 an IPv6 address lies in (what one subscriber is given).
import { ipKeyGenerator } from 'express-rate-limit';

/**
 * The key of the client behind `address`, as the rate limiters count it: express-rate-limit's
 * own key (an IPv4-mapped IPv6 address, `::ffff:127.0.0.2`, as its IPv4 form; an IPv6 address as
 * its /56, since whoever has one address of it has them all; anything else as it is), so that the
 * hashing queue's fair share and the per-address limits see the same clients.
 */
export function clientKey(address: string): string {
  return ipKeyGenerator(address);
}
