/** Reading `init`'s printed next steps, as a user reads them (shared by the unit and e2e init tests). */

/** The numbered steps of init's output: each step's text and its command lines. */
export function steps(stdout: string): { text: string; commands: string[] }[] {
  const out: { text: string; commands: string[] }[] = [];
  let current: { text: string; commands: string[] } | undefined;
  for (const line of stdout.split("\n")) {
    const step = /^ {2}\d+\. (.*)$/.exec(line);
    if (step) out.push((current = { text: step[1], commands: [] }));
    else if (line.startsWith("       ")) current?.commands.push(line.trim());
    // A note after the steps ends the last one.
    else if (/^ {2}\S/.test(line)) current = undefined;
  }
  return out;
}
