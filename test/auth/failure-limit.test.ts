/** Failed authentications per client address (issue #12, item 1). */
import { describe, expect, it } from "vitest";
import { bucketOf, clientAddress, FailureLimiter, peerHost } from "../../src/auth/failure-limit";

describe("FailureLimiter", () => {
  it("allows a burst of failures, then refuses until one comes back", () => {
    const limiter = new FailureLimiter({ burst: 3, perMinute: 6 }); // one back every 10 s
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterSeconds("a", t)).toBe(0);
      limiter.fail("a", t);
    }
    expect(limiter.retryAfterSeconds("a", t)).toBe(10);
    expect(limiter.retryAfterSeconds("a", t + 4_000)).toBe(6);
    expect(limiter.retryAfterSeconds("a", t + 10_000)).toBe(0);
    // Another address has its own bucket.
    expect(limiter.retryAfterSeconds("b", t)).toBe(0);
  });

  it("never holds more than the burst, however long an address kept quiet", () => {
    const limiter = new FailureLimiter({ burst: 2, perMinute: 60 });
    limiter.fail("a", 0);
    for (let i = 0; i < 2; i++) limiter.fail("a", 3_600_000);
    expect(limiter.retryAfterSeconds("a", 3_600_000)).toBe(1);
  });
});

describe("clientAddress", () => {
  const request = (headers: Record<string, string>, cf?: object) => {
    const r = new Request("http://router.test/", { headers });
    return cf ? new Proxy(r, { get: (target, p) => (p === "cf" ? cf : Reflect.get(target, p, target)) }) : r;
  };

  it("takes cf-connecting-ip at the edge, where Cloudflare sets it", () => {
    expect(clientAddress(request({ "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "10.0.0.1" }, { colo: "NRT", country: "JP" }), "x-forwarded-for")).toBe("203.0.113.7");
  });

  it("off the edge, trusts only the header the config names (its last entry: what the proxy saw), else none", () => {
    expect(clientAddress(request({ "cf-connecting-ip": "203.0.113.7" }), null)).toBe("unknown");
    // A client's own x-forwarded-for comes first; the proxy appends the address it saw.
    expect(clientAddress(request({ "x-forwarded-for": "6.6.6.6, 198.51.100.2" }), "x-forwarded-for")).toBe("198.51.100.2");
    expect(clientAddress(request({ "x-real-ip": "198.51.100.2" }), "x-real-ip")).toBe("198.51.100.2");
    expect(clientAddress(request({}), "x-forwarded-for")).toBe("unknown");
  });

  it("on bare workerd, takes the connection's peer, never a client's own cf-connecting-ip; a configured header still wins", () => {
    // What `workerd serve` gives every request: `cf` with the peer's address and port, nothing else.
    const bare = (headers: Record<string, string>, clientIp: string) => request(headers, { clientIp });
    expect(clientAddress(bare({ "cf-connecting-ip": "6.6.6.6" }, "127.0.0.1:59042"), null)).toBe("127.0.0.1");
    expect(clientAddress(bare({ "cf-connecting-ip": "6.6.6.6" }, "[2001:db8::5]:59042"), null)).toBe("2001:db8:0:0::/64");
    expect(clientAddress(bare({ "x-forwarded-for": "198.51.100.2" }, "10.0.0.5:443"), "x-forwarded-for")).toBe("198.51.100.2");
    expect(clientAddress(bare({}, "10.0.0.5:443"), "x-forwarded-for")).toBe("unknown");
  });

  it("reads a peer's host", () => {
    const peers = ["192.0.2.1:8080", "[2001:db8::1]:443", "2001:db8::1", "192.0.2.1", "host.internal:80", "[::ffff:127.0.0.1]:49090"];
    expect(peers.map(peerHost)).toEqual(["192.0.2.1", "2001:db8::1", "2001:db8::1", "192.0.2.1", "host.internal", "::ffff:127.0.0.1"]);
  });

  it("counts an IPv6 client by its /64, an IPv4 one (mapped or not) by its address", () => {
    const addresses = ["2001:db8:0:1:aaaa::7", "2001:DB8:0:1::ffff", "2001:db8:0:2::1", "::1", "::ffff:192.0.2.1", "192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "unknown", "a:::b"];
    expect(addresses.map(bucketOf)).toEqual(["2001:db8:0:1::/64", "2001:db8:0:1::/64", "2001:db8:0:2::/64", "0:0:0:0::/64", "192.0.2.1", "192.0.2.1", "1:2:3:4::/64", "unknown", "a:::b"]);
    // Through the address a request is counted under: at the edge, and from workerd's peer.
    const edge = (ip: string) => clientAddress(request({ "cf-connecting-ip": ip }, { colo: "FRA" }), null);
    expect(edge("2001:db8:0:1::9")).toBe(edge("2001:db8:0:1:ffff:ffff:ffff:ffff"));
    expect(clientAddress(request({}, { clientIp: "[::ffff:127.0.0.1]:49090" }), null)).toBe("127.0.0.1");
  });
});
