// Preloaded into the Portkey gateway (`node --import`): it listens on every interface and has
// no option to choose; this makes a listen() without a host bind 127.0.0.1 only, so the
// benchmark exposes nothing beyond this machine. It changes where it listens, not how it works.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  if (typeof args[0] === "number" && (args.length === 1 || args[1] === undefined || typeof args[1] === "function")) {
    if (args[1] === undefined) args[1] = "127.0.0.1";
    else args.splice(1, 0, "127.0.0.1");
  } else if (typeof args[0] === "object" && args[0] !== null && args[0].port !== undefined && !args[0].host && !args[0].path) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
