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
];

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
 * workspace's or folder's settings say.
 */
export function trustedView(config: ConfigReader, trusted: boolean): ConfigReader {
  if (trusted) {
    return config;
  }
  const userOnly = (key: string): Inspected | undefined => {
    const info = config.inspect(key);
    return info === undefined ? undefined : { defaultValue: info.defaultValue, globalValue: info.globalValue };
  };
  return {
    get(key) {
      if (!RESTRICTED_SETTINGS.includes(key)) {
        return config.get(key);
      }
      const info = userOnly(key);
      return info?.globalValue !== undefined ? info.globalValue : info?.defaultValue;
    },
    inspect(key) {
      return RESTRICTED_SETTINGS.includes(key) ? userOnly(key) : config.inspect(key);
    },
  };
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
