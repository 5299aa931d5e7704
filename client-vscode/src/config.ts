/** The `agentls` settings as this window may use them: read every setting through here. */

import * as vscode from "vscode";
import { SECTION } from "./constants";
import { type ConfigReader, trustedView } from "./settings";

/** The settings for a resource (default: the first folder); in a workspace that is not
 * trusted, the restricted ones come from user settings only (settings.ts `trustedView`). */
export function agentlsConfig(scope?: vscode.Uri): ConfigReader {
  const uri = scope ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  return trustedView(vscode.workspace.getConfiguration(SECTION, uri), vscode.workspace.isTrusted);
}

/** A setting's value, or `fallback` when it has none (or null). */
export function read<T>(config: ConfigReader, key: string, fallback: T): T {
  const value = config.get(key);
  return value === undefined || value === null ? fallback : (value as T);
}
