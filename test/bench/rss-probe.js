// Preloaded (node --require) into a benchmarked command: at exit, writes the process's peak RSS
// in bytes to the file named by BENCH_RSS_FILE. Nothing else changes in the command.
"use strict";
process.on("exit", () => {
  if (process.env.BENCH_RSS_FILE) require("node:fs").writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
