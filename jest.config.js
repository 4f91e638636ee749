// age-encryption and its @noble/@scure dependencies are ESM-only. Jest runs CommonJS, so
// they are transformed with ts-jest (allowJs) instead of being ignored like other modules.
const esmOnly = ["age-encryption", "@noble", "@scure", "@kubernetes/client-node", "openid-client", "oauth4webapi", "jose"].join("|");

const common = {
  testEnvironment: "node",
  transform: {
    "^.+\\.[tj]sx?$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly})/)`],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"] },
  ],
};
