/**
 * Recombines a data key split across several key groups (`shamir_threshold`). sops splits with
 * Shamir's secret sharing over GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1; each part is the
 * share bytes followed by one byte, its x coordinate. The secret is the polynomial at x = 0
 * (Lagrange interpolation), byte by byte.
 */

/** Multiplication in GF(2^8) with the AES polynomial. */
export function mul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) product ^= a;
    const carry = a & 0x80;
    a = (a << 1) & 0xff;
    if (carry) a ^= 0x1b;
    b >>= 1;
  }
  return product;
}

function inverse(a: number): number {
  // a^254 = a^-1 in GF(2^8) (the multiplicative group has 255 elements).
  let result = 1;
  let base = a;
  for (let e = 254; e > 0; e >>= 1) {
    if (e & 1) result = mul(result, base);
    base = mul(base, base);
  }
  return result;
}

/** Combines at least two parts; undefined when they cannot belong together. */
export function combineShares(parts: readonly Buffer[]): Buffer | undefined {
  if (parts.length < 2) return undefined;
  const length = parts[0].length;
  if (length < 2 || parts.some((p) => p.length !== length)) return undefined;
  const xs = parts.map((p) => p[length - 1]);
  if (new Set(xs).size !== xs.length) return undefined;
  const secret = Buffer.alloc(length - 1);
  for (let byte = 0; byte < length - 1; byte++) {
    let value = 0;
    for (let i = 0; i < parts.length; i++) {
      // Lagrange basis at 0: prod_{j != i} x_j / (x_j - x_i); subtraction is XOR here.
      let basis = 1;
      for (let j = 0; j < parts.length; j++) {
        if (i !== j) basis = mul(basis, mul(xs[j], inverse(xs[j] ^ xs[i])));
      }
      value ^= mul(parts[i][byte], basis);
    }
    secret[byte] = value;
  }
  return secret;
}
