/**
 * Errors the command line reports as the user's to fix (exit status 2): bad arguments, a stack
 * config that does not validate, a file that cannot be used. Their messages name the flag, key or
 * file and say what is expected; they never quote key material. Light on purpose: the CLI
 * imports this before it knows which command runs.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
