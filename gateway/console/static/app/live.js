// @ts-check
/** One subscription over the gateway's graphql-transport-ws socket, reconnecting with backoff. */

import { payload } from "./api.js";
import { token } from "./auth.js";

/**
 * @param {string} name a subscription of documents.js, sent by its hash (its text when asked)
 * @param {Record<string, unknown>} variables
 * @param {{next: (data: any) => void, state: (s: "connecting"|"live"|"offline") => void}} on
 * @returns {() => void} stops the subscription
 */
export function subscribe(name, variables, on) {
  let socket = /** @type {WebSocket | null} */ (null);
  let stopped = false;
  let attempts = 0;
  let timer = 0;

  const open = () => {
    on.state("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/graphql`, "graphql-transport-ws");
    const t = token();
    socket.onopen = () => {
      socket?.send(JSON.stringify({ type: "connection_init", payload: t ? { Authorization: `Bearer ${t}` } : {} }));
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        socket?.send(JSON.stringify({ id: "1", type: "subscribe", payload: payload(name, variables, false) }));
        attempts = 0;
        on.state("live");
      } else if (message.type === "next") {
        on.next(message.payload.data);
      } else if (message.type === "ping") {
        socket?.send(JSON.stringify({ type: "pong" }));
      } else if (message.type === "error" && message.id === "1" && message.payload?.[0]?.extensions?.code === "PERSISTED_QUERY_NOT_FOUND") {
        socket?.send(JSON.stringify({ id: "2", type: "subscribe", payload: payload(name, variables, true) }));
      } else if (message.type === "error") {
        stopped = true;
        on.state("offline");
        socket?.close();
      }
    };
    socket.onclose = () => {
      if (stopped) return;
      on.state("offline");
      attempts += 1;
      timer = window.setTimeout(open, Math.min(30000, 500 * 2 ** attempts));
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    socket?.close();
  };
}
