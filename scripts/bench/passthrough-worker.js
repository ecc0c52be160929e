/**
 * The floor for any Worker router: POST /v1/chat/completions goes to the origin with one
 * `fetch` and its response comes back as is. No auth, no parsing, no state. What Token Router
 * costs beyond this is its own work. `ORIGIN_URL` is the origin's API root (`.../v1`).
 */
export default {
  /**
   * @param {Request} request
   * @param {{ ORIGIN_URL: string }} env
   * @returns {Promise<Response> | Response}
   */
  fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/v1/chat/completions") {
      return fetch(`${env.ORIGIN_URL}/chat/completions`, { method: "POST", headers: request.headers, body: request.body });
    }
    if (url.pathname === "/") return new Response("pass-through\n");
    return new Response("not found\n", { status: 404 });
  },
};
