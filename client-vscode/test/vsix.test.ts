/** The packaged extension (run after `npm run package`): what VS Code will read from it. */

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CLIENT_COMMANDS } from "../src/constants";
import { SERVER_SETTINGS } from "../src/settings";
import { readZip } from "./zip";

const VSIX = fileURLToPath(new URL("../agentls.vsix", import.meta.url));

const files = existsSync(VSIX) ? readZip(readFileSync(VSIX)) : new Map<string, Buffer>();
const manifest = JSON.parse(files.get("extension/package.json")?.toString() ?? "{}") as {
  main?: string;
  engines?: { vscode?: string };
  contributes?: {
    commands?: Array<{ command: string; title: string; category?: string }>;
    configuration?: { properties?: Record<string, { scope?: string; description?: string }> };
    keybindings?: Array<{ command: string; key: string }>;
  };
};

describe("agentls.vsix", () => {
  it("exists (npm run package makes it)", () => {
    expect(existsSync(VSIX), `${VSIX} is missing: run npm run package first`).toBe(true);
  });


  it("holds the bundle, the manifest, the README and the licence, and nothing else", () => {
    const names = [...files.keys()].sort();
    expect(names).toEqual(
      [
        "[Content_Types].xml",
        "extension.vsixmanifest",
        "extension/LICENSE.txt",
        "extension/dist/extension.js",
        "extension/package.json",
        "extension/readme.md",
      ].sort(),
    );
    expect(manifest.main).toBe("./dist/extension.js");
  });

  it("bundles vscode-languageclient into dist/extension.js and leaves vscode external", () => {
    const bundle = files.get("extension/dist/extension.js")?.toString() ?? "";
    expect(bundle.length).toBeGreaterThan(100_000);
    expect(bundle).toContain("window/workDoneProgress/create");
    expect(bundle).toContain('require("vscode")');
    expect(bundle).not.toMatch(/require\("vscode-languageclient/);
  });

  it("lists every command with its title and the keybindings", () => {
    const commands = manifest.contributes?.commands ?? [];
    expect(commands.map((c) => c.command).sort()).toEqual(Object.values(CLIENT_COMMANDS).sort());
    const titles = commands.map((c) => `${c.category}: ${c.title}`);
    for (const title of [
      "Agent: Run task…",
      "Agent: Edit selection…",
      "Agent: Plan…",
      "Agent: Cancel",
      "Agent: Undo last task",
      "Agent: Show context",
      "Agent: Set API Key",
      "Agent: Restart server",
    ]) {
      expect(titles).toContain(title);
    }
    expect((manifest.contributes?.keybindings ?? []).map((k) => k.command)).toEqual([CLIENT_COMMANDS.runTask, CLIENT_COMMANDS.editSelection]);
  });

  it("lists every setting of the server's tree and the client's own, each with a scope", () => {
    const properties = manifest.contributes?.configuration?.properties ?? {};
    for (const key of [...SERVER_SETTINGS.map((k) => `agentls.${k}`), "agentls.interpreter", "agentls.trace.server"]) {
      expect(properties[key], key).toBeDefined();
      expect(properties[key]?.scope, key).toBeTruthy();
      expect(properties[key]?.description, key).toBeTruthy();
    }
    expect(Object.keys(properties).some((key) => /apiKey$/i.test(key))).toBe(false); // the key lives in SecretStorage
  });

  it("has a VSIX manifest naming the extension, its version and engine", () => {
    const xml = files.get("extension.vsixmanifest")?.toString() ?? "";
    expect(xml).toMatch(/<Identity[^>]*Id="agentls"[^>]*Version="0\.1\.0"[^>]*Publisher="agentls"/);
    expect(xml).toContain('Id="Microsoft.VisualStudio.Code.Engine" Value="^1.93.0"');
    expect(manifest.engines?.vscode).toBe("^1.93.0");
  });
});

describe("the packaged bundle, activated against the vscode stub", () => {
  it("registers every command, shows the status item, and offers to install agentls", async () => {
    const { chmodSync, mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const stub = await import("./vscode-stub");
    const { loadBundle } = await import("./activate");

    const dir = mkdtempSync(path.join(tmpdir(), "agentls-vsix-"));
    const bundle = path.join(dir, "extension.js");
    writeFileSync(bundle, files.get("extension/dist/extension.js") ?? "");
    // A Python without agentls: it answers the probe, nothing else.
    const python = path.join(dir, "python");
    writeFileSync(python, `#!/bin/sh\necho '{"python": [3, 12, 0], "executable": "/fake/python", "installed": false, "version": null}'\n`);
    chmodSync(python, 0o755);

    stub.reset();
    stub.folders.push({ uri: stub.Uri.file(dir), name: "w", index: 0 });
    stub.settings.user.set("agentls.interpreter", [python]);
    const subscriptions: Array<{ dispose(): unknown }> = [];
    const secrets = { get: async () => undefined, store: async () => undefined, delete: async () => undefined, onDidChange: () => ({ dispose() {} }) };

    const extension = loadBundle(bundle);
    await extension.activate({ subscriptions, secrets });
    expect([...stub.recorded.commands.keys()].sort()).toEqual(Object.values(CLIENT_COMMANDS).sort());

    const deadline = Date.now() + 10_000;
    while (!stub.recorded.messages.some((m) => m.level === "warning") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const warning = stub.recorded.messages.find((m) => m.level === "warning");
    expect(warning?.text).toContain("agentls is not installed in /fake/python (Python 3.12.0)");
    expect(warning?.text).toContain('"pip install agentls"');
    expect(warning?.buttons).toEqual(["Install", "Install from Folder…"]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const item = stub.recorded.statusItems[0];
    expect(item?.visible).toBe(true);
    expect(item?.text).toBe("$(error) agentls");
    expect(String(item?.tooltip)).toContain("not installed");

    for (const subscription of subscriptions) subscription.dispose();
    await extension.deactivate();
    expect(stub.recorded.commands.size).toBe(0);
  });
});
