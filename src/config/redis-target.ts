// What REDIS_URL names: one Redis (redis://, rediss://) or a Redis Cluster by its seed nodes (redis+cluster://, rediss+cluster://).

/** A node of a cluster, as given in the URL. */
export interface ClusterNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'cluster';
      /** The nodes to ask for the cluster's layout first; the others are found from them. */
      nodes: ClusterNode[];
      username?: string;
      password?: string;
      /** rediss+cluster://: every node over TLS. */
      tls: boolean;
    };

/** The forms REDIS_URL accepts, for a configuration error (never the value: it may hold a password). */
export const REDIS_URL_FORMS =
  'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379, or redis+cluster:// (rediss+cluster://) and the host:port of one or more cluster nodes, such as redis+cluster://10.0.0.1:7000,10.0.0.2:7000';

const CLUSTER_SCHEMES: Record<string, boolean> = { 'redis+cluster:': false, 'rediss+cluster:': true };

/**
 * Parses REDIS_URL; null when it is none of the accepted forms. A cluster URL lists nodes
 * separated by commas (a host name, an IPv4 address or a bracketed IPv6 address, and an optional
 * port, 6379 by default), may carry a user and password for every node, and names no database
 * other than 0 (a cluster has only database 0) and no query.
 */
export function parseRedisTarget(text: string): RedisTarget | null {
  const scheme = /^[a-z+]+:/i.exec(text)?.[0].toLowerCase() ?? '';
  if (!(scheme in CLUSTER_SCHEMES)) {
    try {
      const url = new URL(text);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? { kind: 'single', url: text } : null;
    } catch {
      return null;
    }
  }
  const rest = text.slice(scheme.length);
  if (!rest.startsWith('//')) return null;
  const match = /^([^/?#]*)(\/0?)?$/.exec(rest.slice(2));
  if (!match) return null;
  const authority = match[1]!;
  const at = authority.lastIndexOf('@');
  const hosts = authority.slice(at + 1);
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined;
      password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1)) || undefined;
    } catch {
      return null;
    }
  }
  const nodes: ClusterNode[] = [];
  for (const entry of hosts.split(',')) {
    const node = parseNode(entry);
    if (!node) return null;
    nodes.push(node);
  }
  return { kind: 'cluster', nodes, username, password, tls: CLUSTER_SCHEMES[scheme]! };
}

function parseNode(entry: string): ClusterNode | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(entry);
  if (!match) return null;
  const port = match[2] === undefined ? 6379 : Number(match[2]);
  if (port < 1 || port > 65_535) return null;
  // ioredis wants an IPv6 address without its brackets.
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Scheme, hosts, ports (and database) of REDIS_URL: what a message may show, never the credentials. */
export function describeRedisTarget(text: string): string {
  const target = parseRedisTarget(text);
  if (target?.kind === 'cluster') {
    const scheme = target.tls ? 'rediss+cluster' : 'redis+cluster';
    return `${scheme}://${target.nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',')}`;
  }
  const parsed = new URL(text);
  const db = parsed.pathname.length > 1 ? parsed.pathname : '';
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}${db}`;
}
