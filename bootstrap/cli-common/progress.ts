/**
 * Progress a person can follow on long work. On a terminal (stderr is a TTY and `CI` is not
 * set), one live status line redrawn in place with log-update, with permanent lines printed
 * above it; anywhere else, plain lines without escape codes, at most one every few seconds.
 */

/** A live status line, with permanent lines printed above it. */
export interface StatusLine {
  /** Redraws the live line. */
  update(text: string): void;
  /** Prints a permanent line (without its newline) above the live line. */
  print(line: string): void;
  /** Removes the live line, leaving the permanent ones. */
  clear(): void;
}

/** The live line on a terminal stream (log-update is loaded only here, when there is a terminal). */
export function terminalStatusLine(stream: NodeJS.WriteStream): StatusLine {
  const { createLogUpdate } = require("log-update") as typeof import("log-update");
  const live = createLogUpdate(stream);
  let current = "";
  return {
    update(text) {
      current = text;
      live(text);
    },
    print(line) {
      live.clear();
      stream.write(`${line}\n`);
      if (current !== "") live(current);
    },
    clear() {
      current = "";
      live.clear();
      live.done();
    },
  };
}

/**
 * Plain progress for a log: `update` prints the text as a line when `intervalMs` has passed since
 * the last one printed (so a short task prints none), `print` prints at once.
 */
export function plainStatusLine(write: (s: string) => void, intervalMs: number, now: () => number = Date.now): StatusLine {
  let last = now();
  return {
    update(text) {
      if (now() - last < intervalMs) return;
      last = now();
      write(`${text}\n`);
    },
    print(line) {
      write(`${line}\n`);
    },
    clear() {},
  };
}

/** How long plain progress stays quiet between lines (a quick task prints none). */
export const PLAIN_PROGRESS_MS = 5000;

/** The status line for a command's output: live on a terminal, plain lines elsewhere. */
export function statusLineFor(io: { readonly interactive?: boolean; readonly stderr: (s: string) => void }): StatusLine {
  return io.interactive ? terminalStatusLine(process.stderr) : plainStatusLine(io.stderr, PLAIN_PROGRESS_MS);
}

/** `1m12s`, `48s`, `3.2s`. */
export function elapsed(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
