// Server streams that end (server restart, network drop, a proxy's idle timeout) are opened again with
// exponential backoff and jitter, so a page left open follows the service across restarts without
// hammering it when it is down.

export type StreamState = "connecting" | "open" | "retrying";

export interface FollowOptions<T> {
  /** Shown in the console with every error. */
  name: string;
  /** Opens the stream; the signal cancels it. */
  open: (signal: AbortSignal) => AsyncIterable<T>;
  onMessage: (message: T) => void;
  onState?: (state: StreamState, error?: unknown) => void;
}

const firstDelayMs = 1_000;
const maxDelayMs = 30_000;

/** Follows a stream until the returned function is called. */
export function follow<T>(opts: FollowOptions<T>): () => void {
  const stop = new AbortController();
  void (async () => {
    let delay = firstDelayMs;
    while (!stop.signal.aborted) {
      opts.onState?.("connecting");
      let failure: unknown;
      try {
        let first = true;
        for await (const message of opts.open(stop.signal)) {
          if (first) {
            opts.onState?.("open");
            first = false;
            delay = firstDelayMs; // a stream that delivered is healthy again: start the backoff over
          }
          opts.onMessage(message);
        }
        failure = new Error("the server ended the stream");
      } catch (err) {
        failure = err;
      }
      if (stop.signal.aborted) return;
      console.warn(`${opts.name}: ${String(failure)}; reconnecting in ${delay} ms`);
      opts.onState?.("retrying", failure);
      await sleep(delay * (0.75 + Math.random() * 0.5), stop.signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  })();
  return () => stop.abort();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
