import { inspect } from "node:util";

const REDACTED = "[secret]";

/**
 * A plaintext secret (age identity, Git password, SSH key) held in memory while the program runs.
 * Printing, logging, string interpolation and JSON serialisation all show `[secret]`; only
 * `reveal()` gives the value, and only the code that hands it to a Pulumi secret calls it.
 */
export class SecretString {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
