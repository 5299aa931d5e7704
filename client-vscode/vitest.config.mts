import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const stub = fileURLToPath(new URL("./test/vscode-stub.ts", import.meta.url));

export default defineConfig({
  test: {
    projects: [
      {
        // Unit tests against a stub of the `vscode` module (VS Code itself cannot run here).
        resolve: { alias: { vscode: stub } },
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/vsix.test.ts"],
          environment: "node",
        },
      },
      {
        // Reads the packaged agentls.vsix (run after `npm run package`).
        test: { name: "vsix", include: ["test/vsix.test.ts"], environment: "node" },
      },
      {
        // The packaged agentls.vsix in real VS Code (code-server + Chromium; see README.md).
        test: {
          name: "e2e",
          include: ["e2e/**/*.e2e.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
