/** The `agentls.*` settings: which belong to the client, which make up the server's
 * settings tree, and how that tree is built for `initializationOptions` and
 * `workspace/configuration`. The manifest (package.json) is the one list of keys. */

import manifest from "../package.json";
import { SECTION } from "./constants";

const PREFIX = `${SECTION}.`;

/** Keys the client reads itself; they are never sent to the server (it would warn). */
export const CLIENT_SETTINGS: readonly string[] = ["interpreter", "serverPackage", "serverArgs", "trace.server"];

/** Settings whose change needs a new server process (interpreter, arguments, environment). */
export const RESTART_SETTINGS: readonly string[] = ["interpreter", "serverArgs", "model.apiKeyEnv"];

/** Every key of the server's settings tree, dotted and without the `agentls.` prefix. */
export const SERVER_SETTINGS: readonly string[] = Object.keys(manifest.contributes.configuration.properties)
  .filter((key) => key.startsWith(PREFIX))
  .map((key) => key.slice(PREFIX.length))
  .filter((key) => !CLIENT_SETTINGS.includes(key));

/**
 * Settings that start programs or widen what the agent may do (or where the code goes):
 * in a workspace that is not trusted, they are read from user settings only. The
 * manifest lists them as `restrictedConfigurations`; `trustedView` enforces it here too.
 */
export const RESTRICTED_SETTINGS: readonly string[] = [
  "interpreter",
  "serverArgs",
  "serverPackage",
  "model.baseUrl",
  "model.apiKeyEnv",
  "agent.approval",
  "agent.allowPaths",
  "agent.allowCommands",
  "verify.commands",
  "sandbox.readOnlyPaths",
  "sandbox.git",
  "sandbox.writableEnvs",
];

/**
 * Lists that only take away (files never written or read, commands never run): in a
 * workspace that is not trusted, the workspace's and folder's entries are added to the
 * user's, never put in their place (an empty list there would lift the user's denials).
 */
export const NARROWING_LISTS: readonly string[] = [
  "agent.denyPaths",
  "agent.denyCommands",
  "agent.protectedPaths",
  "context.secretPatterns",
];

/**
 * Budgets and limits (null: none): in a workspace that is not trusted, the workspace may
 * lower them, never raise or remove them (they spend the user's money and machine).
 */
export const LIMIT_SETTINGS: readonly string[] = [
  "agent.maxSteps",
  "agent.maxCostUsd",
  "agent.maxTokens",
  "agent.maxSeconds",
  "agent.subagentMaxSteps",
  "agent.maxExplorersPerTurn",
  "agent.maxExplorers",
  "model.maxOutputTokens",
  "sandbox.maxProcesses",
  "sandbox.maxMemoryMb",
  "sandbox.maxFileMb",
  "sandbox.tmpMb",
  "sandbox.maxWriteMb",
];

/** Switches a workspace that is not trusted may turn on, never off. */
export const STRICTER_WHEN_ON: readonly string[] = ["edits.review"];

export interface Inspected {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** What we need of `vscode.WorkspaceConfiguration` for the section `agentls`. */
export interface ConfigReader {
  get(key: string): unknown;
  inspect(key: string): Inspected | undefined;
}

/**
 * The configuration as the window may use it: in a workspace that is not trusted, each
 * restricted setting has its user (global) value or its default, whatever the
 * workspace's or folder's settings say; the workspace adds to the lists that deny, lowers
 * limits and turns on review, but cannot undo the user's choices of them.
 */
export function trustedView(config: ConfigReader, trusted: boolean): ConfigReader {
  if (trusted) {
    return config;
  }
  const untrustedValue = (key: string): Inspected | undefined => {
    const info = config.inspect(key);
    if (info === undefined) {
      return undefined;
    }
    const user = { defaultValue: info.defaultValue, globalValue: info.globalValue };
    const planted = [info.workspaceValue, info.workspaceFolderValue].filter((v) => v !== undefined);
    if (RESTRICTED_SETTINGS.includes(key) || planted.length === 0) {
      return user;
    }
    const mine = info.globalValue !== undefined ? info.globalValue : info.defaultValue;
    if (NARROWING_LISTS.includes(key)) {
      const items = [mine, ...planted].flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : []));
      return { ...user, globalValue: [...new Set(items)] };
    }
    if (LIMIT_SETTINGS.includes(key)) {
      const numbers = [mine, ...planted].filter((v): v is number => typeof v === "number" && Number.isFinite(v));
      return numbers.length === 0 ? user : { ...user, globalValue: Math.min(...numbers) };
    }
    if (STRICTER_WHEN_ON.includes(key)) {
      return { ...user, globalValue: mine === true || planted.includes(true) };
    }
    return info;
  };
  const guarded = (key: string): boolean =>
    [RESTRICTED_SETTINGS, NARROWING_LISTS, LIMIT_SETTINGS, STRICTER_WHEN_ON].some((list) => list.includes(key));
  return {
    get(key) {
      if (!guarded(key)) {
        return config.get(key);
      }
      const info = untrustedValue(key);
      return info?.globalValue !== undefined ? info.globalValue : info?.defaultValue;
    },
    inspect(key) {
      return guarded(key) ? untrustedValue(key) : config.inspect(key);
    },
  };
}

/** Where the API key goes: the server's key guard (server/agentls/lsp/key_guard.py) takes
 * the first settings (`initializationOptions`) as the user's own choice, and asks before a
 * later one sends the key elsewhere. */
export const KEY_SETTINGS: readonly string[] = ["model.baseUrl", "model.apiKeyEnv"];

/**
 * The settings the server starts with: the model's URL and key variable from user settings
 * only, trusted workspace or not. A workspace's own (its `.vscode/settings.json`, trusted
 * with one click on VS Code's question) then arrive with the server's first
 * `workspace/configuration`, and the server asks before it sends the key there.
 */
export function firstSettings(config: ConfigReader): Record<string, unknown> {
  const user = trustedView(config, false);
  return serverSettings({
    get: (key) => (KEY_SETTINGS.includes(key) ? user.get(key) : config.get(key)),
    inspect: (key) => (KEY_SETTINGS.includes(key) ? user.inspect(key) : config.inspect(key)),
  });
}

/** True when the user set the key somewhere (user, workspace or folder settings). */
function isSet(config: ConfigReader, key: string): boolean {
  const info = config.inspect(key);
  return (
    info !== undefined &&
    (info.globalValue !== undefined || info.workspaceValue !== undefined || info.workspaceFolderValue !== undefined)
  );
}

/**
 * The server's settings tree from the `agentls` configuration: only the keys the user
 * set (the server's own defaults, some from its environment, apply to the rest), nested
 * by their dots. `null` and an empty string mean "unset" and are left out.
 */
export function serverSettings(config: ConfigReader): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) {
    if (!isSet(config, key)) {
      continue;
    }
    const value = config.get(key);
    if (value === undefined || value === null || value === "") {
      continue;
    }
    const parts = key.split(".");
    const leaf = parts.pop() as string;
    let node = tree;
    for (const part of parts) {
      const child = node[part];
      if (typeof child === "object" && child !== null) {
        node = child as Record<string, unknown>;
      } else {
        node = node[part] = {};
      }
    }
    node[leaf] = value;
  }
  return tree;
}

export interface ConfigurationItem {
  scopeUri?: string | null;
  section?: string | null;
}

/**
 * The answer to `workspace/configuration`: the default answer, with every item for the
 * section `agentls` replaced by the server's settings tree (without the client's keys).
 */
export function answerConfiguration(
  items: readonly ConfigurationItem[],
  defaults: readonly unknown[],
  read: (scopeUri: string | undefined) => ConfigReader,
): unknown[] {
  return items.map((item, index) =>
    item.section === SECTION ? serverSettings(read(item.scopeUri ?? undefined)) : (defaults[index] ?? null),
  );
}

export type ChangeAction = "restart" | "notify" | "none";

/** What a configuration change means for the server. */
export function changeAction(affects: (section: string) => boolean): ChangeAction {
  if (RESTART_SETTINGS.some((key) => affects(PREFIX + key))) {
    return "restart";
  }
  if (SERVER_SETTINGS.some((key) => affects(PREFIX + key))) {
    return "notify";
  }
  return "none"; // trace.server is handled by vscode-languageclient, serverPackage is read on use
}

/**
 * What to tell the user when `agentls.trace.server` asks for a trace the channel will not
 * show: vscode-languageclient 11 writes the trace to a log output channel only at the
 * log level Trace (`isTraceLevel`), whatever the setting says.
 */
export function traceHint(setting: unknown, isTraceLevel: boolean): string | undefined {
  if (setting === undefined || setting === "off" || isTraceLevel) {
    return undefined;
  }
  return (
    `agentls.trace.server is ${JSON.stringify(setting)}, but the LSP trace shows only at the log level Trace: ` +
    'run "Developer: Set Log Level…", pick agentls, then Trace.'
  );
}
