/** Names shared by the manifest (package.json), the client and the server. */

export const CLIENT_ID = "agentls";
export const CLIENT_NAME = "agentls";
export const SECTION = "agentls";
export const API_KEY_SECRET = "agentls.apiKey";
export const PYTHON_EXTENSION_ID = "ms-python.python";

/** The server's `workspace/executeCommand` ids; vscode-languageclient registers them itself. */
export const SERVER_COMMANDS = {
  run: "agentls.run",
  cancel: "agentls.cancel",
  accept: "agentls.accept",
  undo: "agentls.undo",
  context: "agentls.context",
  status: "agentls.status",
} as const;

/** The editor-side commands this extension contributes (none may equal a server command). */
export const CLIENT_COMMANDS = {
  runTask: "agentls.client.runTask",
  editSelection: "agentls.client.editSelection",
  plan: "agentls.client.plan",
  ask: "agentls.client.ask",
  cancel: "agentls.client.cancel",
  undo: "agentls.client.undo",
  showContext: "agentls.client.showContext",
  setApiKey: "agentls.client.setApiKey",
  restart: "agentls.restart",
  showLog: "agentls.client.showLog",
} as const;

export type ClientCommand = keyof typeof CLIENT_COMMANDS;
