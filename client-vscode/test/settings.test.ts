import { beforeEach, describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { answerConfiguration, changeAction, CLIENT_SETTINGS, type ConfigReader, type Inspected, RESTRICTED_SETTINGS, serverSettings, SERVER_SETTINGS, traceHint, trustedView } from "../src/settings";
import manifest from "../package.json";
import { properties } from "./manifest";
import { type PyField, serverSettingsTree } from "./server-source";
import { reset, settings } from "./vscode-stub";

function expectedType(annotation: string): { type: string | string[]; enum?: string[]; items?: string } {
  const optional = annotation.endsWith(" | None");
  const base = optional ? annotation.slice(0, -" | None".length) : annotation;
  const literal = /^Literal\[(.*)\]$/.exec(base);
  if (literal) {
    return { type: "string", enum: [...(literal[1] ?? "").matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? "") };
  }
  if (base === "list[str]") return { type: "array", items: "string" };
  const json = { str: "string", int: "integer", float: "number", bool: "boolean" }[base];
  if (!json) throw new Error(`no JSON type for ${annotation}`);
  return { type: optional ? [json, "null"] : json };
}

describe("the settings in package.json mirror server/agentls/config.py", () => {
  const tree: PyField[] = serverSettingsTree();

  it("reads a non-trivial tree from config.py", () => {
    expect(tree.length).toBeGreaterThan(15);
    expect(tree.map((f) => f.key)).toContain("model.apiKeyEnv");
  });

  it("has exactly the server's keys, plus the client's own", () => {
    expect([...SERVER_SETTINGS].sort()).toEqual(tree.map((f) => f.key).sort());
    const all = Object.keys(properties).map((key) => key.replace(/^agentls\./, ""));
    expect(all.sort()).toEqual([...tree.map((f) => f.key), ...CLIENT_SETTINGS].sort());
  });

  for (const field of serverSettingsTree()) {
    it(`agentls.${field.key}: type, default, minimum, description, scope`, () => {
      const property = properties[`agentls.${field.key}`];
      expect(property, `add agentls.${field.key} to client-vscode/package.json`).toBeDefined();
      if (!property) return;
      const want = expectedType(field.annotation);
      expect(property.type).toEqual(want.type);
      expect(property.enum).toEqual(want.enum);
      expect(property.items?.type).toEqual(want.items);
      expect(property.default).toEqual(field.default);
      expect(property.minimum).toEqual(field.minimum);
      expect(property.maximum).toEqual(field.maximum);
      expect(property.description.length).toBeGreaterThan(10);
      if (field.doc !== undefined) {
        expect(property.description).toContain(field.doc);
      }
      // The server asks for one settings object without a scopeUri: no per-folder values.
      expect(property.scope).toBe("window");
    });
  }
});

describe("serverSettings", () => {
  beforeEach(reset);
  const read = () => vscode.workspace.getConfiguration("agentls");

  it("sends only what the user set, nested by the dots, never the client's keys", () => {
    settings.defaults.set("agentls.model.apiKeyEnv", "OPENAI_API_KEY");
    settings.defaults.set("agentls.agent.maxSteps", 30);
    settings.user.set("agentls.model.name", "gpt-5-mini");
    settings.workspace.set("agentls.model.baseUrl", "http://127.0.0.1:11434/v1");
    settings.workspace.set("agentls.agent.approval", "auto-edit");
    settings.user.set("agentls.verify.commands", ["pytest -q"]);
    settings.user.set("agentls.interpreter", ["/usr/bin/python3"]);
    settings.user.set("agentls.trace.server", "verbose");
    expect(serverSettings(read())).toEqual({
      model: { name: "gpt-5-mini", baseUrl: "http://127.0.0.1:11434/v1" },
      agent: { approval: "auto-edit" },
      verify: { commands: ["pytest -q"] },
    });
  });

  it("takes the workspace value over the user's", () => {
    settings.user.set("agentls.context.maxTokens", 4000);
    settings.workspace.set("agentls.context.maxTokens", 12000);
    expect(serverSettings(read())).toEqual({ context: { maxTokens: 12000 } });
  });

  it("leaves out null and empty strings (unset), keeps false and 0", () => {
    settings.user.set("agentls.model.baseUrl", "");
    settings.user.set("agentls.model.temperature", null);
    settings.user.set("agentls.edits.review", false);
    settings.user.set("agentls.model.maxRetries", 0);
    expect(serverSettings(read())).toEqual({ edits: { review: false }, model: { maxRetries: 0 } });
  });

  it("is empty when nothing is set", () => {
    settings.defaults.set("agentls.model.api", "chat");
    expect(serverSettings(read())).toEqual({});
  });
});

describe("answerConfiguration (workspace/configuration)", () => {
  beforeEach(reset);

  it("answers the agentls section with the server's tree and keeps other sections' defaults", () => {
    settings.user.set("agentls.model.name", "qwen2.5-coder:7b");
    settings.user.set("agentls.serverArgs", ["-v"]);
    const scopes: Array<string | undefined> = [];
    const answer = answerConfiguration(
      [{ section: "agentls" }, { section: "editor" }, { section: "agentls", scopeUri: "file:///w" }],
      [{ model: { name: "qwen2.5-coder:7b" }, serverArgs: ["-v"] }, { tabSize: 4 }, {}],
      (scope) => {
        scopes.push(scope);
        return vscode.workspace.getConfiguration("agentls");
      },
    );
    expect(answer).toEqual([{ model: { name: "qwen2.5-coder:7b" } }, { tabSize: 4 }, { model: { name: "qwen2.5-coder:7b" } }]);
    expect(scopes).toEqual([undefined, "file:///w"]);
  });
});

describe("traceHint", () => {
  it("says how to see the trace when the setting asks for one below the log level Trace", () => {
    expect(traceHint("verbose", false)).toContain('"Developer: Set Log Level…", pick agentls, then Trace');
    expect(traceHint("messages", false)).toContain('agentls.trace.server is "messages"');
    expect(traceHint("verbose", true)).toBeUndefined();
    expect(traceHint("off", false)).toBeUndefined();
    expect(traceHint(undefined, false)).toBeUndefined();
  });
});

describe("changeAction", () => {
  const only = (...sections: string[]) => (section: string) =>
    sections.some((s) => s === section || s.startsWith(`${section}.`) || section.startsWith(`${s}.`));

  it("restarts for the interpreter, the server's arguments and the key's variable", () => {
    expect(changeAction(only("agentls.interpreter"))).toBe("restart");
    expect(changeAction(only("agentls.serverArgs"))).toBe("restart");
    expect(changeAction(only("agentls.model.apiKeyEnv"))).toBe("restart");
  });

  it("notifies the server (no restart) for the other server settings", () => {
    expect(changeAction(only("agentls.model.name"))).toBe("notify");
    expect(changeAction(only("agentls.agent.approval"))).toBe("notify");
  });

  it("does nothing for client-only and foreign settings", () => {
    expect(changeAction(only("agentls.trace.server"))).toBe("none");
    expect(changeAction(only("agentls.serverPackage"))).toBe("none");
    expect(changeAction(only("editor.fontSize"))).toBe("none");
  });
});

describe("client-vscode/README.md", () => {
  it("has a row for every setting in its settings table", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const key of Object.keys(properties)) {
      expect(readme, `README.md has no row for ${key}`).toContain(`| \`${key}\` |`);
    }
  });
});

describe("the tree, read by the server's own parse_settings", () => {
  const python = new URL("../../.venv/bin/python", import.meta.url);

  it.runIf(process.platform !== "win32")("takes every setting at its manifest default, and a set of other values, without a warning", async () => {
    const { existsSync } = await import("node:fs");
    const { execFileSync } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const executable = fileURLToPath(python);
    if (!existsSync(executable)) {
      // ./dev test creates .venv before it runs these tests; outside it, say what is missing.
      expect.fail(`${executable} is missing: run ./dev test (or ./dev serve) once to create it`);
    }
    reset();
    const check = (tree: object): string[] =>
      JSON.parse(
        execFileSync(executable, ["-c", "import json, sys\nfrom agentls.config import parse_settings\nprint(json.dumps(parse_settings(json.loads(sys.argv[1]))[1]))", JSON.stringify(tree)]).toString(),
      ) as string[];
    for (const [key, property] of Object.entries(properties)) {
      if (property.default !== null) settings.user.set(key, property.default);
    }
    const defaults = serverSettings(vscode.workspace.getConfiguration("agentls"));
    expect(Object.keys(defaults).sort()).toEqual(["agent", "context", "edits", "model", "sandbox", "verify"]);
    expect(check(defaults)).toEqual([]);
    settings.user.set("agentls.model.baseUrl", "http://127.0.0.1:8080/v1");
    settings.user.set("agentls.model.temperature", 0.2);
    settings.user.set("agentls.agent.maxTokens", 50000);
    settings.user.set("agentls.agent.approval", "full-auto");
    settings.user.set("agentls.verify.commands", ["pytest -q"]);
    expect(check(serverSettings(vscode.workspace.getConfiguration("agentls")))).toEqual([]);
    // and the check can fail: a value out of bounds is reported
    settings.user.set("agentls.context.maxTokens", 10);
    expect(check(serverSettings(vscode.workspace.getConfiguration("agentls")))).toEqual([expect.stringContaining("context.maxTokens")]);
  });
});

describe("settings in a workspace that is not trusted", () => {
  const values: Record<string, Inspected> = {
    interpreter: { defaultValue: [], globalValue: ["/usr/bin/python3"], workspaceValue: ["/tmp/evil"] },
    "model.baseUrl": { defaultValue: null, workspaceFolderValue: "http://evil.example/v1" },
    "agent.approval": { defaultValue: "ask", workspaceValue: "full-auto" },
    "agent.maxSteps": { defaultValue: 30, workspaceValue: 5 },
  };
  const effective = (info: Inspected) => info.workspaceFolderValue ?? info.workspaceValue ?? info.globalValue ?? info.defaultValue;
  const raw: ConfigReader = { get: (key) => effective(values[key] ?? {}), inspect: (key) => values[key] };

  it("takes restricted settings from user settings only, others from the workspace", () => {
    const view = trustedView(raw, false);
    expect(view.get("interpreter")).toEqual(["/usr/bin/python3"]);
    expect(view.get("model.baseUrl")).toBeNull();
    expect(view.get("agent.approval")).toBe("ask");
    expect(view.get("agent.maxSteps")).toBe(5);
    expect(serverSettings(view)).toEqual({ agent: { maxSteps: 5 } });
  });

  it("takes everything when the workspace is trusted", () => {
    const view = trustedView(raw, true);
    expect(view.get("interpreter")).toEqual(["/tmp/evil"]);
    expect(serverSettings(view)).toMatchObject({ agent: { approval: "full-auto", maxSteps: 5 }, model: { baseUrl: "http://evil.example/v1" } });
  });

  it("lists the same restricted settings as the manifest", () => {
    const declared = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.map((key) => key.replace(/^agentls\./, ""));
    expect([...declared].sort()).toEqual([...RESTRICTED_SETTINGS].sort());
  });
});
